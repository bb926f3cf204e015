/**
 * The fixed-rate producer of ledger-proofs.bench.ts, in a process of its own: signing and publishing 2,000 events/s
 * on the event loop that times proofs would add its own pauses (a producer batch signed, a produce request) to the
 * latencies measured. Started by `startPublisher` (this file, run by node with the parent's tsx hooks); it sends
 * `{ published, perSec, lateTicks }` over IPC when told to stop.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';
import { byTopic, createProducers, prepareEvents, type Service, type Topics } from './ledger-harness';

interface PublisherConfig {
  brokers: string[];
  topics: Topics;
  seeds: Record<Service, Uint8Array>;
  rate: number;
  /** One signed producer batch per tick, as an outbox relay would send. */
  tickMs: number;
}

export interface PublisherResult {
  published: number;
  perSec: number;
  /** Ticks sent more than one tick late (the machine could not keep the schedule). */
  lateTicks: number;
}

/** The publisher's configuration travels in this variable (seeds as base64). */
const CONFIG_VARIABLE = 'BENCH_PROOFS_PUBLISHER';

/** Starts publishing in a child process; `stop` ends it after the requests in flight and returns what it sent. */
export function startPublisher(config: PublisherConfig): { stop(): Promise<PublisherResult> } {
  const seeds = Object.fromEntries(
    Object.entries(config.seeds).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  );
  // The parent's execArgv carries tsx's hooks, so the child runs this TypeScript file as the parent runs its own.
  const child = fork(__filename, [], {
    execArgv: process.execArgv,
    env: { ...process.env, [CONFIG_VARIABLE]: JSON.stringify({ ...config, seeds }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  let stopping: Promise<PublisherResult> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null) throw new Error(`the publisher exited early (${child.exitCode})`);
        const result = once(child, 'message') as Promise<[PublisherResult]>;
        child.send('stop');
        const [value] = await Promise.race([
          result,
          exited.then(([code]) => {
            throw new Error(`the publisher exited with ${String(code)}`);
          }),
        ]);
        await exited;
        return value;
      })();
      return stopping;
    },
  };
}

async function publish(config: PublisherConfig): Promise<void> {
  const producers = createProducers(config.seeds);
  const kafka = new Kafka({ clientId: 'bench-proofs-publisher', brokers: config.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let stopped = false;
  process.once('message', () => (stopped = true));
  const perTick = Math.max(1, Math.round((config.rate * config.tickMs) / 1000));
  const inFlight = new Set<Promise<void>>();
  let published = 0;
  let lateTicks = 0;
  const startedAt = performance.now();
  for (let tick = 0; !stopped; tick += 1) {
    const wait = startedAt + tick * config.tickMs - performance.now();
    if (wait < -config.tickMs) lateTicks += 1;
    // Always yields, even behind schedule, so the stop message is seen.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
    const batch = prepareEvents(producers, perTick, perTick);
    const send = producer.sendBatch({ acks: -1, topicMessages: byTopic(config.topics, batch) }).then(() => {
      published += batch.length;
    });
    inFlight.add(send);
    void send.finally(() => inFlight.delete(send));
  }
  await Promise.all(inFlight);
  await producer.disconnect();
  const result: PublisherResult = {
    published,
    perSec: published / ((performance.now() - startedAt) / 1000),
    lateTicks,
  };
  process.send?.(result, () => process.disconnect());
}

const configured = process.env[CONFIG_VARIABLE];
if (process.send && configured) {
  const config = JSON.parse(configured) as Omit<PublisherConfig, 'seeds'> & { seeds: Record<Service, string> };
  const seeds = Object.fromEntries(
    Object.entries(config.seeds).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]),
  ) as Record<Service, Uint8Array>;
  publish({ ...config, seeds }).catch((error: unknown) => {
    process.stderr.write(`publisher: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}

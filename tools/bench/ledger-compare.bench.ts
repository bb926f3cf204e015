/**
 * The ledger side by side with what a team would otherwise build (issue 17 §3), in one run on one machine:
 *
 *   npm run bench:ledger:compare [-- --events 50000 --rounds 3 --partitions=1,4 --publish-rate 40000 --cpu-prof]
 *
 * `--cpu-prof` runs the ledger under `node --cpu-prof` (one profile per ledger run, in .data/bench/).
 *
 * Contenders, each a consumer of fresh topics (one per producer, `<prefix>.<service>.events`, as the ledger
 * requires) with the same partitions, the same signed events and the same partition concurrency (4), each its own
 * process: the built **ledger**; the **naive** peer (parse, hash-chain, one durable insert per event, offsets
 * committed after it); the **batched** peer (one insert per Kafka batch); **raw** consume (count and commit) and the
 * parse-and-hash **floor** (ledger-peer.ts). Rounds alternate the order of the contenders.
 *
 * The clock is the bench's own, end to end: from the first publish to the moment the contender's consumer group
 * has committed offsets at the end of every partition (the ledger commits only after a block is durable, the
 * peers only after their insert); then the stored events are counted and every one missing is a failure. Events
 * are published on a schedule (`--publish-rate`, events/s) and each event's latency runs from its scheduled send
 * time, so a stalled publisher cannot hide queueing (no coordinated omission). The ledger's time of an event is its
 * block's signed `sealedAt`; a peer's is the row's `clock_timestamp()` at insert.
 *
 * Durability is checked, not assumed: the run refuses to report when PostgreSQL has `fsync` or
 * `synchronous_commit` off, and records them with the PostgreSQL and Kafka versions, the git commit and the
 * machine in its JSON line (the last line of output). The ledger runs at its production log level (`info`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { Client } from 'pg';
import {
  createDatabaseFromTemplate,
  databaseUrl,
  dropDatabase,
  migrateServiceDatabase,
  startInfrastructure,
} from '@medledger/testing';
import {
  cliOptions,
  durability,
  gitCommit,
  groupProgress,
  kafkaVersion,
  machineFacts,
  ROOT,
  round,
  run,
  say,
  sleep,
  summary,
} from './common';
import {
  buildLedger,
  byTopic,
  cpuSnapshot,
  createProducers,
  freePort,
  ledgerBuildIsStale,
  prepareEvents,
  startLedger,
  stopLedger,
  topicsOf,
  waitForHealth,
  type LedgerProcess,
  type PreparedEvent,
  type Producers,
} from './ledger-harness';
import type { PeerConfig, PeerMode } from './ledger-peer';

const options = cliOptions();
const EVENTS = options.number('events', 50_000);
const ROUNDS = options.number('rounds', 3);
const PUBLISH_RATE = options.number('publish-rate', 40_000);
const PARTITION_SETS = (process.argv.find((arg) => arg.startsWith('--partitions='))?.split('=')[1] ?? '1,4')
  .split(',')
  .map(Number);
if (PARTITION_SETS.some((p) => !Number.isInteger(p) || p < 1)) throw new Error('--partitions=1,4: positive integers');
/** Events per producer-signed batch, as the services' outbox relays sign them (up to 500). */
const PRODUCER_BATCH = 100;
/** Events per produce request; up to four requests in flight. */
const PUBLISH_CHUNK = 500;
const PUBLISH_IN_FLIGHT = 4;
/** The ledger's own partition concurrency (sequencer.consumer.ts); the peers use the same. */
const CONCURRENCY = 4;
/** A contender that commits no further offset for this long has stalled: what it has not stored is missing. */
const STALL_MS = 60_000;

type Contender = 'ledger' | PeerMode;
const CONTENDERS: readonly Contender[] = ['ledger', 'naive', 'batched', 'raw', 'floor'];

interface RunResult {
  contender: Contender;
  partitions: number;
  round: number;
  perSec: number;
  /** Events not stored when the clock stopped (or the contender stalled). */
  missing: number;
  latency?: ReturnType<typeof summary>;
  publishedPerSec: number;
  /** CPU per event, µs: the contender's process, and the whole machine (PostgreSQL, Kafka and the publisher too). */
  cpuMicros: { process: number; machine: number };
}

/** CPU seconds the whole machine spent busy (every core; /proc/stat, Linux), so short-lived processes count too. */
function machineCpuSeconds(): number {
  try {
    const [, user, nice, system, , , irq, softirq, steal] =
      readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]?.trim().split(/\s+/).map(Number) ?? [];
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100;
  } catch {
    return NaN;
  }
}

/** Publishes `events` on a schedule of `rate` events/s from now; returns each event's scheduled time (epoch ms). */
async function publishOnSchedule(
  producer: Producer,
  topics: ReturnType<typeof topicsOf>,
  events: readonly PreparedEvent[],
  rate: number,
): Promise<{ scheduled: Map<string, number>; startedAt: number; perSec: number }> {
  const startedAt = Date.now();
  const scheduled = new Map<string, number>();
  const inFlight = new Set<Promise<void>>();
  for (let start = 0; start < events.length; start += PUBLISH_CHUNK) {
    const chunk = events.slice(start, start + PUBLISH_CHUNK);
    chunk.forEach((event, i) => scheduled.set(event.id, startedAt + ((start + i) * 1000) / rate));
    const due = startedAt + (start * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    while (inFlight.size >= PUBLISH_IN_FLIGHT) await Promise.race(inFlight);
    const send: Promise<void> = producer
      .sendBatch({ acks: -1, topicMessages: byTopic(topics, chunk) })
      .then(() => void inFlight.delete(send));
    inFlight.add(send);
  }
  await Promise.all(inFlight);
  return { scheduled, startedAt, perSec: events.length / ((Date.now() - startedAt) / 1000) };
}

/** Waits until `groupId` has members and a stable assignment, so the clock does not time a group join. */
async function waitForGroup(admin: Admin, groupId: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const [group] = (await admin.describeGroups([groupId])).groups;
    if (group?.state === 'Stable' && group.members.length > 0) return;
    await sleep(100);
  }
  throw new Error(`consumer group ${groupId} did not become stable`);
}

/** Peers not yet seen to exit: killed if the bench itself exits (or crashes) first. */
const peers = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of peers) child.kill('SIGKILL');
});

function startPeer(config: PeerConfig, logTo: string[]): Promise<ChildProcess> {
  // tsx as a loader in this one process (its CLI would run the script in a child, whose CPU we would not see).
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'tools/bench/ledger-peer.ts'), JSON.stringify(config)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TSX_TSCONFIG_PATH: 'tsconfig.base.json' } },
  );
  child.stderr?.on('data', (chunk: Buffer) => logTo.push(chunk.toString()));
  peers.add(child);
  child.once('exit', () => peers.delete(child));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`peer ${config.mode} exited (${code}): ${logTo.join('')}`)));
  });
}

async function stopPeer(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Each stored event's time (epoch ms) by id: the ledger's block `sealedAt`, a peer's insert time. */
async function storedTimes(url: string, contender: Contender): Promise<Map<string, number>> {
  if (contender === 'raw' || contender === 'floor') return new Map();
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const sql =
      contender === 'ledger'
        ? `SELECT l.event_id AS id, (extract(epoch FROM b.sealed_at) * 1000)::float8 AS at
             FROM leaf l JOIN block b ON b.height = l.block_height`
        : `SELECT event_id AS id, (extract(epoch FROM stored_at) * 1000)::float8 AS at FROM peer_event`;
    const rows = (await client.query<{ id: string; at: number }>(sql)).rows;
    return new Map(rows.map((row) => [row.id, Number(row.at)]));
  } finally {
    await client.end();
  }
}

interface Context {
  kafka: Kafka;
  brokers: string[];
  adminUrl: string;
  ledgerTemplate: string;
  producers: Producers;
  events: readonly PreparedEvent[];
}

async function runOne(ctx: Context, contender: Contender, partitions: number, roundNo: number): Promise<RunResult> {
  // An admin client per run, like the producer below: kafkajs clients keep refreshing the metadata of every topic
  // they touched, and each run's topics are deleted after it.
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    return await runWith({ ...ctx, admin }, contender, partitions, roundNo);
  } finally {
    await admin.disconnect();
  }
}

async function runWith(
  ctx: Context & { admin: Admin },
  contender: Contender,
  partitions: number,
  roundNo: number,
): Promise<RunResult> {
  const suffix = randomBytes(4).toString('hex');
  const topics = topicsOf(`cmp.${suffix}`);
  const topicList = Object.values(topics);
  const groupId = `cmp-${contender}-${suffix}`;
  const database = `medledger_cmp_${contender}_${suffix}`;
  await ctx.admin.createTopics({
    topics: topicList.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
    waitForLeaders: true,
  });
  await createDatabaseFromTemplate(ctx.adminUrl, contender === 'ledger' ? ctx.ledgerTemplate : 'template0', database);
  const url = databaseUrl(ctx.adminUrl, database);
  let ledger: LedgerProcess | undefined;
  let peer: ChildProcess | undefined;
  const peerLog: string[] = [];
  try {
    if (contender === 'ledger') {
      const port = await freePort();
      ledger = startLedger(
        {
          PORT: String(port),
          HOST: '127.0.0.1',
          DATABASE_URL: url,
          KAFKA_BROKERS: ctx.brokers.join(','),
          KAFKA_GROUP_ID: `cmp-ledger-diag-${suffix}`,
          KAFKA_CLIENT_ID: `cmp-ledger-${suffix}`,
          LEDGER_GROUP_ID: groupId,
          LEDGER_TOPICS: topicList.join(','),
          LEDGER_PRODUCER_KEYS: ctx.producers.verifierKeys.join(','),
          LEDGER_SIGNING_KEY: randomBytes(32).toString('base64'),
          LOG_LEVEL: 'info',
        },
        join(ROOT, `.data/bench/compare-ledger-${suffix}.log`),
        options.flag('cpu-prof') ? join(ROOT, `.data/bench/profile-compare-${suffix}`) : undefined,
      );
      await waitForHealth(ledger);
    } else {
      peer = await startPeer(
        {
          mode: contender,
          brokers: ctx.brokers,
          topics: topicList,
          groupId,
          databaseUrl: url,
          concurrency: CONCURRENCY,
        },
        peerLog,
      );
    }
    await waitForGroup(ctx.admin, groupId);
    const pid = ledger?.child.pid ?? peer?.pid;
    const [cpuBefore, machineBefore] = [cpuSnapshot(pid), machineCpuSeconds()];
    // A producer per run: kafkajs keeps refreshing the metadata of every topic a producer wrote to, and each run's
    // topics are deleted after it.
    const producer = ctx.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const published = await publishOnSchedule(producer, topics, ctx.events, PUBLISH_RATE).finally(() =>
      producer.disconnect(),
    );

    let last = -1;
    let lastChange = Date.now();
    let endedAt = Date.now();
    for (;;) {
      const { committed, end } = await groupProgress(ctx.admin, groupId, topicList);
      endedAt = Date.now();
      if (end >= ctx.events.length && committed >= end) break;
      if (committed !== last) [last, lastChange] = [committed, endedAt];
      else if (endedAt - lastChange > STALL_MS) break;
      await sleep(20);
    }
    const [cpuAfter, machineAfter] = [cpuSnapshot(pid), machineCpuSeconds()];
    const stored = await storedTimes(url, contender);
    const { committed } = await groupProgress(ctx.admin, groupId, topicList);
    const count = contender === 'raw' || contender === 'floor' ? committed : stored.size;
    const latencies: number[] = [];
    for (const [id, at] of stored) {
      const due = published.scheduled.get(id);
      if (due !== undefined) latencies.push(at - due);
    }
    return {
      contender,
      partitions,
      round: roundNo,
      perSec: ctx.events.length / ((endedAt - published.startedAt) / 1000),
      missing: ctx.events.length - count,
      ...(latencies.length > 0 && { latency: summary(latencies) }),
      publishedPerSec: round(published.perSec, 0),
      cpuMicros: {
        process: round(((cpuAfter.ledger - cpuBefore.ledger) * 1e6) / ctx.events.length, 1),
        machine: round(((machineAfter - machineBefore) * 1e6) / ctx.events.length, 1),
      },
    };
  } finally {
    await Promise.allSettled([stopLedger(ledger), stopPeer(peer)]);
    await Promise.allSettled([
      dropDatabase(ctx.adminUrl, database),
      ctx.admin.deleteTopics({ topics: [...topicList, ...topicList.map((t) => `${t}.dlq`)] }),
    ]);
  }
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

function aggregate(results: readonly RunResult[]) {
  const rates = results.map((r) => r.perSec);
  const p99s = results.flatMap((r) => (r.latency ? [r.latency.p99] : []));
  const p50s = results.flatMap((r) => (r.latency ? [r.latency.p50] : []));
  return {
    runs: results.length,
    perSec: { median: round(median(rates), 0), min: round(Math.min(...rates), 0), max: round(Math.max(...rates), 0) },
    ...(p99s.length > 0 && {
      latencyMs: { p50Median: round(median(p50s), 1), p99Median: round(median(p99s), 1), p99Max: Math.max(...p99s) },
    }),
    missing: results.reduce((total, r) => total + r.missing, 0),
    cpuMicrosPerEvent: {
      process: round(median(results.map((r) => r.cpuMicros.process)), 1),
      machine: round(median(results.map((r) => r.cpuMicros.machine)), 1),
    },
    publishedPerSec: round(median(results.map((r) => r.publishedPerSec)), 0),
  };
}

async function main(): Promise<void> {
  const infrastructure = await startInfrastructure({ rootDir: ROOT, log: say });
  const brokers = infrastructure.kafkaBrokers;
  const adminUrl = infrastructure.postgresUrl;
  const postgres = await durability(adminUrl);
  mkdirSync(join(ROOT, '.data/bench'), { recursive: true });
  if (ledgerBuildIsStale()) {
    say('building the ledger (nx build ledger)...');
    await buildLedger(process.env['DATABASE_URL'] ?? adminUrl);
  }
  const ledgerTemplate = `medledger_cmp_template_${randomBytes(4).toString('hex')}`;
  await createDatabaseFromTemplate(adminUrl, 'template0', ledgerTemplate);
  const kafka = new Kafka({ clientId: 'bench-compare', brokers, logLevel: logLevel.NOTHING });
  try {
    await migrateServiceDatabase(ROOT, 'ledger', databaseUrl(adminUrl, ledgerTemplate));
    const producers = createProducers();
    say(`signing ${EVENTS} events in producer batches of ${PRODUCER_BATCH}...`);
    const events = prepareEvents(producers, EVENTS, PRODUCER_BATCH);
    const ctx: Context = { kafka, brokers, adminUrl, ledgerTemplate, producers, events };

    const results: RunResult[] = [];
    for (const partitions of PARTITION_SETS) {
      for (let r = 1; r <= ROUNDS; r += 1) {
        // Each round starts with the next contender, so no one always runs first (or last) on a warm machine.
        const order = CONTENDERS.map((_, i) => CONTENDERS[(i + r - 1) % CONTENDERS.length] as Contender);
        for (const contender of order) {
          const result = await runOne(ctx, contender, partitions, r);
          results.push(result);
          say(
            `${partitions} partition(s), round ${r}, ${contender}: ${round(result.perSec, 0)} events/s` +
              (result.latency ? `, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms` : '') +
              `, missing ${result.missing}, published at ${result.publishedPerSec}/s`,
          );
        }
      }
    }

    const byPartitions = Object.fromEntries(
      PARTITION_SETS.map((p) => [
        `${p}`,
        Object.fromEntries(
          CONTENDERS.map((c) => [c, aggregate(results.filter((r) => r.partitions === p && r.contender === c))]),
        ),
      ]),
    );
    const lines = [
      '',
      `| partitions | contender | events/s median (range) | p50 / p99 ms | missing | µs CPU/event (process, machine) |`,
    ];
    lines.push('| --- | --- | --- | --- | --- | --- |');
    const ratios: Record<string, Record<string, number>> = {};
    for (const p of PARTITION_SETS) {
      const row = byPartitions[`${p}`] as Record<Contender, ReturnType<typeof aggregate>>;
      for (const c of CONTENDERS) {
        const a = row[c];
        lines.push(
          `| ${p} | ${c} | ${a.perSec.median} (${a.perSec.min}–${a.perSec.max}) | ` +
            `${a.latencyMs ? `${a.latencyMs.p50Median} / ${a.latencyMs.p99Median}` : '—'} | ${a.missing} | ` +
            `${a.cpuMicrosPerEvent.process}, ${a.cpuMicrosPerEvent.machine} |`,
        );
      }
      const ledgerRate = row.ledger.perSec.median;
      ratios[`${p}`] = {
        ledgerOverNaive: round(ledgerRate / row.naive.perSec.median, 2),
        ledgerOverBatched: round(ledgerRate / row.batched.perSec.median, 2),
        ledgerOverRaw: round(ledgerRate / row.raw.perSec.median, 3),
        ledgerOverFloor: round(ledgerRate / row.floor.perSec.median, 3),
      };
      const r = ratios[`${p}`] as Record<string, number>;
      lines.push(
        `|  | **${p} partition(s)** | ledger / naive ${r['ledgerOverNaive']} (target ≥ 5: ` +
          `${(r['ledgerOverNaive'] ?? 0) >= 5 ? 'pass' : 'FAIL'}), ledger / batched ${r['ledgerOverBatched']} ` +
          `(target ≥ 1: ${(r['ledgerOverBatched'] ?? 0) >= 1 ? 'pass' : 'FAIL'}), ledger / raw ${r['ledgerOverRaw']} | | | |`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n\n`);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'ledger-compare',
        ...gitCommit(),
        machine: machineFacts(),
        postgres,
        kafka: { version: kafkaVersion(), brokers: brokers.length },
        ledgerLogLevel: 'info',
        events: EVENTS,
        rounds: ROUNDS,
        publishRate: PUBLISH_RATE,
        concurrency: CONCURRENCY,
        results: byPartitions,
        ratios,
        missingTotal: results.reduce((total, r) => total + r.missing, 0),
      })}\n`,
    );
  } finally {
    await dropDatabase(adminUrl, ledgerTemplate).catch(() => undefined);
    await infrastructure.stop();
  }
}

run(main);

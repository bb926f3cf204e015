/**
 * End-to-end benchmark of the built ledger: sustained sealing rate, publish→sealed latency at a fixed rate,
 * inclusion-proof latency, and the raw Kafka consume ceiling of the same machine. A script, not a test: it prints
 * a table, then one JSON object as its last line. Results and their discussion live in docs/perf.md.
 *
 *   npx tsx --tsconfig tsconfig.base.json tools/bench/ledger.bench.ts [options]
 *
 *   --events N               events for the throughput phase (200000)
 *   --partitions N           partitions of each bench topic (4)
 *   --producer-batch N       events per producer-signed batch in the throughput phase (100)
 *   --publish-batch N        messages per Kafka produce request in the throughput phase (1000)
 *   --rate N                 events/s of the fixed-rate latency phase (2000)
 *   --rate-seconds N         length of the fixed-rate phase (15)
 *   --rate-tick-ms N         the fixed-rate producer sends (and signs) one batch every N ms (10)
 *   --proofs N               inclusion-proof requests per mode (2000)
 *   --proof-concurrency N    parallel requests in the concurrent proof mode (8)
 *   --wire canonical|json    events on the wire in RFC 8785 form, as the services publish them, or as
 *                            JSON.stringify writes them (canonical)
 *   --block-max-events N     LEDGER_BLOCK_MAX_EVENTS for the ledger (else its default)
 *   --block-max-age-ms N     LEDGER_BLOCK_MAX_AGE_MS (else its default)
 *   --block-max-bytes N      LEDGER_BLOCK_MAX_BYTES (else its default)
 *   --build | --no-build     always / never run `nx build ledger` (default: only when dist is older than sources)
 *   --cpu-prof               run the ledger with `node --cpu-prof` (profile in .data/bench/)
 *   --keep                   keep the bench database and topics
 *
 * Infrastructure comes from startInfrastructure (KAFKA_BROKERS + DATABASE_URL, else Docker, else the local
 * broker); a broker this script did not start is left running.
 *
 * Method (one ledger process, one fresh database, two fresh sets of topics it subscribes to from the start, A and B,
 * each a topic per producer: `<prefix>.<service>.events`, since the ledger takes a service's events from its topic only):
 * 1. throughput: N signed events are published to topic A *before* the ledger starts, so the ledger is never
 *    starved by the producer; the rate is measured between the `sealedAt` of the first and the last block
 *    (the first block's events are not counted, since timing starts when it is sealed).
 * 2. latency: once A is sealed, events are published to topic B at a fixed rate; each event's time is taken
 *    just before its produce request, and its sealing time is when the `ledger.BlockSealed` naming it reaches
 *    this process (a fresh consumer of medledger.ledger.blocks).
 * 3. proofs: random `GET /v1/proofs/inclusion?index=&treeSize=<current size>`, sequential then concurrent; a
 *    sample is verified against the signed checkpoint.
 * 4. raw ceiling: after the ledger is stopped, a bare kafkajs consumer (fresh group, from the beginning,
 *    eachBatch only counts) reads topic A; the rate is measured the same way, first batch to last.
 * 5. parse-and-hash floor: another fresh consumer reads topic A and does only JSON.parse and one SHA-256 per
 *    event, the least any ledger must do; its rate and CPU per event show how far below the raw ceiling even
 *    that falls on this machine.
 */
import { Agent, get as httpGet } from 'node:http';
import { randomBytes, createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { LEDGER_BLOCKS_TOPIC } from '@medledger/contracts';
import { leafHash, parseCheckpoint, verifyInclusion } from '@medledger/ledger-core';
import {
  createDatabaseFromTemplate,
  databaseUrl,
  dropDatabase,
  migrateServiceDatabase,
  startInfrastructure,
  type Infrastructure,
} from '@medledger/testing';
import {
  allBlocks,
  buildLedger,
  byTopic,
  coresUsed,
  cpuSnapshot,
  createProducers,
  freePort,
  ledgerBuildIsStale,
  ledgerMetrics,
  prepareEvents,
  startLedger,
  stopLedger,
  topicsOf,
  waitForHealth,
  waitForTreeSize,
  type LedgerProcess,
  type PreparedEvent,
  type Producers,
  type Topics,
  type Wire,
} from './ledger-harness';

const ROOT = resolve(__dirname, '../..');

// ------------------------------------------------------------------------------------------------ options

const argv = process.argv.slice(2);
function option(name: string): string | undefined {
  const at = argv.findIndex((arg) => arg === `--${name}` || arg.startsWith(`--${name}=`));
  if (at < 0) return undefined;
  const arg = argv[at] as string;
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[at + 1];
}
function numberOption(name: string, fallback: number): number {
  const raw = option(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got "${raw}"`);
  return value;
}
const flag = (name: string) => argv.includes(`--${name}`);

const EVENTS = numberOption('events', 200_000);
const PARTITIONS = numberOption('partitions', 4);
const PRODUCER_BATCH = numberOption('producer-batch', 100);
const PUBLISH_BATCH = numberOption('publish-batch', 1_000);
const RATE = numberOption('rate', 2_000);
const RATE_SECONDS = numberOption('rate-seconds', 15);
const RATE_TICK_MS = numberOption('rate-tick-ms', 10);
const PROOFS = numberOption('proofs', 2_000);
const PROOF_CONCURRENCY = numberOption('proof-concurrency', 8);
/** How events are written on the wire (ledger-harness.ts `Wire`). */
const WIRE_OPTION = option('wire') ?? 'canonical';
if (WIRE_OPTION !== 'canonical' && WIRE_OPTION !== 'json')
  throw new Error(`--wire must be canonical or json, got "${WIRE_OPTION}"`);
const WIRE: Wire = WIRE_OPTION;
const BLOCK_ENV: Record<string, string> = {};
for (const [arg, variable] of [
  ['block-max-events', 'LEDGER_BLOCK_MAX_EVENTS'],
  ['block-max-age-ms', 'LEDGER_BLOCK_MAX_AGE_MS'],
  ['block-max-bytes', 'LEDGER_BLOCK_MAX_BYTES'],
] as const) {
  const value = option(arg);
  if (value !== undefined) BLOCK_ENV[variable] = value;
}

/** Publishes in flight at once in the throughput phase: enough to keep the broker busy, few enough to bound memory. */
const PUBLISH_CONCURRENCY = 4;
/** After the last fixed-rate publish, how long to wait for the remaining BlockSealed announcements. */
const ANNOUNCE_TIMEOUT_MS = 30_000;
const PROOF_WARMUP = 100;
const PROOF_VERIFY_SAMPLE = 20;

// ------------------------------------------------------------------------------------------------ helpers

const say = (message: string) => process.stdout.write(`[bench] ${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 0) => Number(value.toFixed(digits));

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
  };
}

// ------------------------------------------------------------------------------------------------ phases

async function publishAll(producer: Producer, topics: Topics, events: readonly PreparedEvent[]): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < events.length) {
      const slice = events.slice(next, next + PUBLISH_BATCH);
      next += PUBLISH_BATCH;
      await producer.sendBatch({ acks: -1, topicMessages: byTopic(topics, slice) });
    }
  };
  await Promise.all(Array.from({ length: PUBLISH_CONCURRENCY }, worker));
  return events.length / ((performance.now() - started) / 1000);
}

interface FixedRateResult {
  published: number;
  sealed: number;
  achievedRate: number;
  latencies: number[];
  sendAck: number[];
}

async function fixedRatePhase(
  kafka: Kafka,
  producer: Producer,
  producers: Producers,
  topics: Topics,
  suffix: string,
): Promise<FixedRateResult> {
  const perTick = Math.max(1, Math.round((RATE * RATE_TICK_MS) / 1000));
  const ticks = Math.round((RATE_SECONDS * 1000) / RATE_TICK_MS);
  // Each tick is one producer batch (one signature), like an outbox relay publishing what accumulated.
  const events = prepareEvents(producers, perTick * ticks, perTick, WIRE);
  const publishedAt = new Map<string, number>();
  const latencies: number[] = [];

  const consumer: Consumer = kafka.consumer({ groupId: `bench-blocks-${suffix}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: LEDGER_BLOCKS_TOPIC, fromBeginning: false });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  let announced = 0;
  await consumer.run({
    eachMessage: async ({ message }) => {
      const arrived = performance.now();
      if (!message.value) return;
      // ledger.BlockSealed v2 carries the block in `data` (a CloudEvents envelope); v1 was the bare block.
      const parsed = JSON.parse(message.value.toString('utf8')) as {
        events?: Array<{ eventId: string }>;
        data?: { events?: Array<{ eventId: string }> };
      };
      for (const event of parsed.data?.events ?? parsed.events ?? []) {
        const sent = publishedAt.get(event.eventId);
        if (sent === undefined) continue; // another ledger's block, or not ours
        publishedAt.delete(event.eventId);
        latencies.push(arrived - sent);
        announced += 1;
      }
    },
  });
  await joined;
  // The group's "latest" offset is resolved on its first fetch, right after the join.
  await sleep(1_500);

  const sendAck: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  let lastSend = started;
  for (let tick = 0; tick < ticks; tick += 1) {
    const due = started + tick * RATE_TICK_MS;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const slice = events.slice(tick * perTick, (tick + 1) * perTick);
    const now = performance.now();
    for (const event of slice) publishedAt.set(event.id, now);
    lastSend = now;
    const sending = producer
      .sendBatch({ acks: -1, topicMessages: byTopic(topics, slice) })
      .then(() => void sendAck.push(performance.now() - now));
    inFlight.add(sending);
    void sending.finally(() => inFlight.delete(sending));
  }
  await Promise.all(inFlight);
  const achievedRate = events.length / ((lastSend - started) / 1000 + RATE_TICK_MS / 1000);

  const deadline = Date.now() + ANNOUNCE_TIMEOUT_MS;
  while (announced < events.length && Date.now() < deadline) await sleep(50);
  await consumer.disconnect();
  return { published: events.length, sealed: announced, achievedRate, latencies, sendAck };
}

interface ProofResult {
  sequential: ReturnType<typeof summary>;
  concurrent: ReturnType<typeof summary>;
  concurrentPerSec: number;
  verified: number;
}

async function proofPhase(ledger: LedgerProcess): Promise<ProofResult> {
  const checkpoint = await (await fetch(`${ledger.url}/v1/checkpoint`)).text();
  const body = checkpoint.slice(0, checkpoint.indexOf('\n\n') + 1);
  const parsed = parseCheckpoint(body);
  if (!parsed.ok) throw new Error(`bad checkpoint from the ledger: ${parsed.reason}`);
  const size = parsed.value.size;
  const randomIndex = () => Math.floor(Math.random() * size);
  // node:http with keep-alive rather than fetch: undici's own cost per request (about 0.5 ms here) is the
  // client's, not the ledger's.
  const agent = new Agent({ keepAlive: true, maxSockets: PROOF_CONCURRENCY });
  const prove = (index: number): Promise<{ ms: number; hashes: string[] }> =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const request = httpGet(
        `${ledger.url}/v1/proofs/inclusion?index=${index}&treeSize=${size}`,
        { agent },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => {
            const ms = performance.now() - started;
            if (response.statusCode !== 200)
              reject(new Error(`proof ${index}/${size}: HTTP ${response.statusCode} ${text}`));
            else resolve({ ms, hashes: (JSON.parse(text) as { hashes: string[] }).hashes });
          });
        },
      );
      request.on('error', reject);
    });

  // Honesty check, untimed: a sample of proofs must verify against the signed checkpoint's root.
  let verified = 0;
  for (let i = 0; i < PROOF_VERIFY_SAMPLE; i += 1) {
    const index = randomIndex();
    const { hashes } = await prove(index);
    const leaves = (await (await fetch(`${ledger.url}/v1/leaves?start=${index}&end=${index + 1}`)).json()) as {
      leaves: Array<{ leafData: string }>;
    };
    const data = Buffer.from(leaves.leaves[0]?.leafData ?? '', 'base64');
    const proof = hashes.map((hash) => Buffer.from(hash, 'base64'));
    const verdict = verifyInclusion(leafHash(data), index, size, proof, parsed.value.root);
    if (!verdict.ok) throw new Error(`inclusion proof for ${index} does not verify: ${verdict.reason}`);
    verified += 1;
  }

  for (let i = 0; i < PROOF_WARMUP; i += 1) await prove(randomIndex());
  const sequential: number[] = [];
  for (let i = 0; i < PROOFS; i += 1) sequential.push((await prove(randomIndex())).ms);

  const concurrent: number[] = [];
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: PROOF_CONCURRENCY }, async () => {
      while (issued < PROOFS) {
        issued += 1;
        concurrent.push((await prove(randomIndex())).ms);
      }
    }),
  );
  const concurrentPerSec = PROOFS / ((performance.now() - started) / 1000);
  agent.destroy();
  return { sequential: summary(sequential), concurrent: summary(concurrent), concurrentPerSec, verified };
}

/**
 * What a consumer of the same topic reaches when it does nothing with a message (`work` undefined: the ceiling
 * the issue names) or only `work` with each one. Measured from the first batch to the last.
 */
async function consumeRate(
  kafka: Kafka,
  topics: Topics,
  expected: number,
  groupId: string,
  work?: (value: Buffer) => void,
): Promise<{ perSec: number; cpuMicrosPerEvent: number }> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: Object.values(topics), fromBeginning: true });
  let count = 0;
  let first: { at: number; count: number } | undefined;
  let lastAt = 0;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const cpuBefore = process.cpuUsage();
  await consumer.run({
    eachBatch: async ({ batch }) => {
      if (work) for (const message of batch.messages) work(message.value as Buffer);
      count += batch.messages.length;
      lastAt = performance.now();
      first ??= { at: lastAt, count };
      if (count >= expected) resolveDone();
    },
  });
  const timeout = sleep(Math.max(120_000, expected / 100)).then(() => {
    throw new Error(`consumer ${groupId} read ${count} of ${expected}`);
  });
  await Promise.race([done, timeout]);
  const cpu = process.cpuUsage(cpuBefore);
  await consumer.disconnect();
  const cpuMicrosPerEvent = (cpu.user + cpu.system) / count;
  if (!first || lastAt === first.at) return { perSec: NaN, cpuMicrosPerEvent };
  return { perSec: (count - first.count) / ((lastAt - first.at) / 1000), cpuMicrosPerEvent };
}

/**
 * The least any ledger must do with an event, and no more: parse its JSON and hash its bytes once (SHA-256). No
 * schema, canonical form, signature, proof of origin, tree or storage. Its rate bounds what sealing can reach on
 * this machine from above, far more tightly than the bare consume rate.
 */
function parseAndHash(value: Buffer): void {
  const event = JSON.parse(value.toString('utf8')) as { id?: unknown };
  if (event.id === undefined) throw new Error('floor: an event without an id');
  createHash('sha256').update(value).digest();
}

// ------------------------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  const suffix = randomBytes(4).toString('hex');
  const benchDir = join(ROOT, '.data/bench');
  mkdirSync(benchDir, { recursive: true });
  const cleanups: Array<() => Promise<unknown>> = [];
  let ledger: LedgerProcess | undefined;
  let infrastructure: Infrastructure | undefined;
  const interrupted = () => {
    say('interrupted: cleaning up');
    void Promise.allSettled([stopLedger(ledger)]).then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);

  try {
    infrastructure = await startInfrastructure({ rootDir: ROOT, log: say });
    const brokers = infrastructure.kafkaBrokers;

    if (flag('build') || (!flag('no-build') && ledgerBuildIsStale())) {
      say('building the ledger (nx build ledger)...');
      await buildLedger(process.env['DATABASE_URL'] ?? infrastructure.postgresUrl);
    }

    const adminUrl = infrastructure.postgresUrl;
    const database = `medledger_ledger_bench_${suffix}`;
    await createDatabaseFromTemplate(adminUrl, 'template0', database);
    if (!flag('keep')) cleanups.push(() => dropDatabase(adminUrl, database));
    const url = databaseUrl(adminUrl, database);
    say(`database ${database}: migrating...`);
    await migrateServiceDatabase(ROOT, 'ledger', url);

    const kafka = new Kafka({ clientId: `bench-${suffix}`, brokers, logLevel: logLevel.NOTHING });
    const admin: Admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    // Each phase has a topic per producer: the ledger seals a service's events from that service's topic only.
    const topicA = topicsOf(`bench.${suffix}.throughput`);
    const topicB = topicsOf(`bench.${suffix}.latency`);
    const allTopics = [...Object.values(topicA), ...Object.values(topicB)];
    await admin.createTopics({
      topics: allTopics.map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1 })),
      waitForLeaders: true,
    });
    if (!flag('keep')) {
      cleanups.push(() => admin.deleteTopics({ topics: [...allTopics, ...allTopics.map((t) => `${t}.dlq`)] }));
    }
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    cleanups.push(() => producer.disconnect());

    // 1. Throughput: everything is on the topic before the ledger starts.
    const producers = createProducers();
    say(`signing ${EVENTS} events in producer batches of ${PRODUCER_BATCH}...`);
    const signStarted = performance.now();
    const events = prepareEvents(producers, EVENTS, PRODUCER_BATCH, WIRE);
    const signSeconds = (performance.now() - signStarted) / 1000;
    const bytes = events.reduce((total, event) => total + (event.message.value as Buffer).length, 0);
    const unsignedBytes = averageUnsignedBytes(events);
    say(`publishing to bench.${suffix}.throughput.<service>.events (${PARTITIONS} partitions each)...`);
    const publishPerSec = await publishAll(producer, topicA, events);
    say(`published ${EVENTS} events (${round(bytes / EVENTS)} bytes average) at ${round(publishPerSec)}/s`);

    const port = await freePort();
    const cpuProfDir = flag('cpu-prof') ? join(benchDir, `profile-${suffix}`) : undefined;
    const env: Record<string, string> = {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_GROUP_ID: `bench-ledger-diag-${suffix}`,
      KAFKA_CLIENT_ID: `bench-ledger-${suffix}`,
      LEDGER_GROUP_ID: `bench-ledger-${suffix}`,
      LEDGER_TOPICS: allTopics.join(','),
      LEDGER_PRODUCER_KEYS: producers.verifierKeys.join(','),
      LEDGER_SIGNING_KEY: randomBytes(32).toString('base64'),
      LOG_LEVEL: 'warn',
      ...BLOCK_ENV,
    };
    const logFile = join(benchDir, `ledger-${suffix}.log`);
    say(`starting the ledger on port ${port} (log ${logFile})${cpuProfDir ? `, profiling into ${cpuProfDir}` : ''}`);
    ledger = startLedger(env, logFile, cpuProfDir);
    await waitForHealth(ledger);
    const healthyAt = Date.now();
    const cpuBefore = cpuSnapshot(ledger.child.pid);
    await waitForTreeSize(ledger, EVENTS);
    const cpuAfter = cpuSnapshot(ledger.child.pid);
    const sealedAllAt = Date.now();
    const blocks = await allBlocks(ledger);
    const firstBlock = blocks[0];
    const lastBlock = blocks.at(-1);
    if (!firstBlock || !lastBlock || lastBlock.treeSize !== EVENTS) {
      throw new Error(`expected ${EVENTS} sealed events, the blocks say ${lastBlock?.treeSize ?? 0}`);
    }
    const sealSpanSeconds = (Date.parse(lastBlock.sealedAt) - Date.parse(firstBlock.sealedAt)) / 1000;
    const sealedPerSec = (lastBlock.treeSize - firstBlock.treeSize) / sealSpanSeconds;
    const metricsA = await ledgerMetrics(ledger);
    const cores = coresUsed(cpuBefore, cpuAfter);
    const ledgerCpuMicrosPerEvent = ((cpuAfter.ledger - cpuBefore.ledger) / EVENTS) * 1e6;
    say(
      `sealed ${EVENTS} events in ${blocks.length} blocks: ${round(sealedPerSec)}/s over ${round(sealSpanSeconds, 2)} s ` +
        `(health→all sealed ${round((sealedAllAt - healthyAt) / 1000, 2)} s); cores used ${JSON.stringify(cores)}`,
    );

    // 2. Latency at a fixed rate, same ledger, topic B.
    say(`fixed rate: ${RATE} events/s for ${RATE_SECONDS} s to bench.${suffix}.latency.<service>.events...`);
    const fixed = await fixedRatePhase(kafka, producer, producers, topicB, suffix);
    const latency = summary(fixed.latencies);
    const ack = summary(fixed.sendAck);
    say(
      `fixed rate: ${fixed.sealed}/${fixed.published} announced, publish→sealed p50 ${round(latency.p50, 1)} ms, ` +
        `p99 ${round(latency.p99, 1)} ms (produce ack p99 ${round(ack.p99, 1)} ms)`,
    );
    const metricsB = await ledgerMetrics(ledger);

    // 3. Inclusion proofs.
    say(`inclusion proofs: ${PROOFS} sequential, ${PROOFS} with concurrency ${PROOF_CONCURRENCY}...`);
    const proofs = await proofPhase(ledger);

    await stopLedger(ledger);
    say('ledger stopped');

    // 4. Raw consume ceiling of topic A.
    say(`raw consume of the throughput topics...`);
    const raw = await consumeRate(kafka, topicA, EVENTS, `bench-raw-${suffix}`);
    const rawConsumePerSec = raw.perSec;
    say(`parse-and-hash floor on the throughput topics...`);
    const floor = await consumeRate(kafka, topicA, EVENTS, `bench-floor-${suffix}`, parseAndHash);

    const ratio = sealedPerSec / rawConsumePerSec;
    const blockMaxEvents = Number(BLOCK_ENV['LEDGER_BLOCK_MAX_EVENTS'] ?? 2_000);
    const blockMaxAgeMs = Number(BLOCK_ENV['LEDGER_BLOCK_MAX_AGE_MS'] ?? 100);
    const avgBlockA = EVENTS / blocks.length;
    const sealMsA =
      ((metricsA['ledger_block_seal_seconds_sum'] ?? 0) / (metricsA['ledger_block_seal_seconds_count'] || 1)) * 1000;
    const blocksB = (metricsB['ledger_blocks_sealed_total'] ?? 0) - (metricsA['ledger_blocks_sealed_total'] ?? 0);
    const eventsB = (metricsB['ledger_events_sealed_total'] ?? 0) - (metricsA['ledger_events_sealed_total'] ?? 0);
    const sealMsB =
      (((metricsB['ledger_block_seal_seconds_sum'] ?? 0) - (metricsA['ledger_block_seal_seconds_sum'] ?? 0)) /
        (blocksB || 1)) *
      1000;

    const rows: Array<[string, string, string, string]> = [
      ['sealed events/s (sustained)', '>= 20000', String(round(sealedPerSec)), pass(sealedPerSec >= 20_000)],
      ['raw consume events/s', '', String(round(rawConsumePerSec)), ''],
      ['sealed / raw', '>= 50%', `${round(ratio * 100, 1)}%`, pass(ratio >= 0.5)],
      ['parse+hash floor events/s (no ledger)', '', String(round(floor.perSec)), ''],
      ['parse+hash floor / raw', '', `${round((floor.perSec / rawConsumePerSec) * 100, 1)}%`, ''],
      [
        `publish→sealed p50 @ ${RATE}/s`,
        '',
        `${round(latency.p50, 1)} ms`,
        fixed.sealed === fixed.published ? '' : `${fixed.published - fixed.sealed} missing`,
      ],
      [`publish→sealed p99 @ ${RATE}/s`, '<= 300 ms', `${round(latency.p99, 1)} ms`, pass(latency.p99 <= 300)],
      ['proof p50 (sequential)', '', `${round(proofs.sequential.p50, 2)} ms`, ''],
      ['proof p99 (sequential)', '<= 5 ms', `${round(proofs.sequential.p99, 2)} ms`, pass(proofs.sequential.p99 <= 5)],
      [`proof p50 (concurrency ${PROOF_CONCURRENCY})`, '', `${round(proofs.concurrent.p50, 2)} ms`, ''],
      [`proof p99 (concurrency ${PROOF_CONCURRENCY})`, '', `${round(proofs.concurrent.p99, 2)} ms`, ''],
    ];
    const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((row) => row[c]?.length ?? 0), 8));
    const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ');
    process.stdout.write('\n');
    process.stdout.write(`${line(['metric', 'target', 'measured', 'result'])}\n`);
    for (const row of rows) process.stdout.write(`${line(row)}\n`);
    process.stdout.write(
      [
        '',
        `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${round(totalmem() / 2 ** 30, 1)} GiB, Node ${process.version}`,
        `kafka: ${infrastructure.mode} ${brokers.join(',')}, topics A 3 × ${PARTITIONS} partitions, compression none, acks=all`,
        `events: ${EVENTS}, ${WIRE} JSON, ${round(bytes / EVENTS)} bytes average on the wire (${round(unsignedBytes)} without the ` +
          `proof of origin), producer batches of ${PRODUCER_BATCH} ` +
          `(signed in ${round(signSeconds, 1)} s), published at ${round(publishPerSec)}/s`,
        `blocks (throughput): ${blocks.length}, ${round(avgBlockA)} events average, seal ${round(sealMsA, 1)} ms average; ` +
          `limits events=${blockMaxEvents} ageMs=${blockMaxAgeMs}`,
        `cores used while sealing: ${JSON.stringify(cores)}; ledger CPU ${round(ledgerCpuMicrosPerEvent, 1)} µs/event`,
        `fixed rate: ${fixed.published} events at ${round(fixed.achievedRate)}/s in ${blocksB} blocks ` +
          `(${round(eventsB / (blocksB || 1))} events average, seal ${round(sealMsB, 1)} ms average), ` +
          `p90 ${round(latency.p90, 1)} ms, max ${round(latency.max, 1)} ms, produce ack p99 ${round(ack.p99, 1)} ms`,
        `proofs: ${proofs.verified} sampled proofs verified against the checkpoint; concurrent ${round(proofs.concurrentPerSec)} req/s`,
        `consumer CPU in this process: raw ${round(raw.cpuMicrosPerEvent, 1)} µs/event, parse+hash floor ` +
          `${round(floor.cpuMicrosPerEvent, 1)} µs/event (one thread each)`,
        '',
      ].join('\n'),
    );
    const result = {
      events: EVENTS,
      sealedPerSec: round(sealedPerSec),
      rawConsumePerSec: round(rawConsumePerSec),
      ratio: round(ratio, 3),
      floorParseHashPerSec: round(floor.perSec),
      floorRatio: round(floor.perSec / rawConsumePerSec, 3),
      rawCpuMicrosPerEvent: round(raw.cpuMicrosPerEvent, 1),
      floorCpuMicrosPerEvent: round(floor.cpuMicrosPerEvent, 1),
      publishToSealedP50Ms: round(latency.p50, 1),
      publishToSealedP99Ms: round(latency.p99, 1),
      fixedRatePerSec: RATE,
      fixedRateAchievedPerSec: round(fixed.achievedRate),
      fixedRateSealed: fixed.sealed,
      fixedRatePublished: fixed.published,
      proofP50Ms: round(proofs.sequential.p50, 2),
      proofP99Ms: round(proofs.sequential.p99, 2),
      proofConcurrentP50Ms: round(proofs.concurrent.p50, 2),
      proofConcurrentP99Ms: round(proofs.concurrent.p99, 2),
      proofConcurrency: PROOF_CONCURRENCY,
      blockMaxEvents,
      blockMaxAgeMs,
      blocks: blocks.length,
      avgBlockEvents: round(avgBlockA),
      avgSealMs: round(sealMsA, 1),
      fixedRateAvgSealMs: round(sealMsB, 1),
      ledgerCpuMicrosPerEvent: round(ledgerCpuMicrosPerEvent, 1),
      coresWhileSealing: cores,
      partitions: PARTITIONS,
      producerBatch: PRODUCER_BATCH,
      avgEventBytes: round(bytes / EVENTS),
      wire: WIRE,
      avgEnvelopeBytesWithoutProof: round(unsignedBytes),
      publishPerSec: round(publishPerSec),
      kafka: infrastructure.mode,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await stopLedger(ledger);
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => say(`cleanup: ${(error as Error).message}`));
    }
    await infrastructure?.stop();
    process.off('SIGINT', interrupted);
  }
}

/** Average size of the envelopes without their proof of origin (a sample of 1,000). */
function averageUnsignedBytes(events: readonly PreparedEvent[]): number {
  const sample = events.slice(0, 1_000);
  const total = sample.reduce((sum, event) => {
    const envelope = JSON.parse(String(event.message.value)) as Record<string, unknown>;
    for (const attribute of ['producerkey', 'batchnote', 'batchindex', 'batchproof']) delete envelope[attribute];
    return sum + Buffer.byteLength(JSON.stringify(envelope));
  }, 0);
  return total / sample.length;
}

function pass(ok: boolean): string {
  return ok ? 'pass' : 'FAIL';
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

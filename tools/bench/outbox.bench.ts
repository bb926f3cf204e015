/**
 * Benchmark of the event store and its transactional outbox, through the built records service (a child process,
 * as in production): command latency, relay throughput, and commit→Kafka latency. A script, not a test: it prints
 * a table, then one JSON object as its last line. Results and their discussion live in docs/perf.md.
 *
 *   npm run bench:outbox -- [options]
 *
 *   --appends N        Patient registrations for the latency phase (5000)
 *   --concurrency N    requests in flight in that phase (8)
 *   --relay-events N   outbox rows the relay drains in the throughput phase (50000)
 *   --rate N           registrations/s of the commit→Kafka phase (200)
 *   --rate-seconds N   length of that phase (10)
 *   --build | --no-build   always / never run `nx build records` (default: only when dist is older than sources)
 *   --cpu-prof         run records with `node --cpu-prof` (profiles in .data/bench/)
 *   --keep             keep the bench database
 *
 * Method (one records process, one fresh database; Kafka and PostgreSQL real, on this machine):
 * 1. append latency: N `POST /fhir/Patient`, C in flight. Each request is one command: load the stream, decide,
 *    encrypt the event under the patient's new data key, append it with its outbox row and projection row in one
 *    transaction. Latency is the HTTP round trip; the relay runs meanwhile.
 * 2. commit→Kafka: a fresh consumer of the bench's topic (PUBLIC_EVENTS_TOPIC, not the shared records topic); registrations at a fixed rate; the latency of an
 *    event runs from the moment its HTTP response arrives (the commit is done) to the moment the consumer sees it.
 * 3. relay throughput: the service is stopped, M outbox rows (copies of a real envelope with fresh ids and
 *    aggregate ids) are inserted, the service is started again and its relay drains them. The rate is M over the
 *    span of their `published_at` stamps (first to last acknowledged round).
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { mintToken } from '@medledger/platform';
import { cliOptions, round, run, say, sleep, summary, withRecordsService, type RecordsBench } from './common';

const options = cliOptions();
const APPENDS = options.number('appends', 5_000);
const CONCURRENCY = options.number('concurrency', 8);
const RELAY_EVENTS = options.number('relay-events', 50_000);
const RATE = options.number('rate', 200);
const RATE_SECONDS = options.number('rate-seconds', 10);
/** After the last fixed-rate request, how long to wait for its event on Kafka. */
const DRAIN_TIMEOUT_MS = 30_000;

const PATIENT = { resourceType: 'Patient', gender: 'unknown', birthDate: '1970-01-01', name: [{ family: 'Bench' }] };

/** The bench's own token issuer: records trusts its key (AUTH_PUBLIC_KEYS), the requests carry its token. */
const AUTH_SEED = randomBytes(32);
let authorization = '';

async function register(baseUrl: string): Promise<{ ms: number; eventId: string; doneAt: number }> {
  const started = performance.now();
  const response = await fetch(`${baseUrl}/fhir/Patient`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', authorization },
    body: JSON.stringify(PATIENT),
  });
  await response.arrayBuffer();
  const doneAt = performance.now();
  if (response.status !== 201) throw new Error(`POST /fhir/Patient -> ${response.status}`);
  return { ms: doneAt - started, eventId: response.headers.get('x-medledger-event-id') ?? '', doneAt };
}

async function pending(pg: Client): Promise<number> {
  const result = await pg.query<{ n: string }>('SELECT count(*) AS n FROM es_outbox WHERE published_at IS NULL');
  return Number(result.rows[0]?.n ?? 0);
}

async function waitForEmptyOutbox(pg: Client, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await pending(pg)) > 0) {
    if (Date.now() > deadline) throw new Error('the outbox did not drain in time');
    await sleep(50);
  }
}

async function main(): Promise<void> {
  await withRecordsService('bench', AUTH_SEED, options, async (bench) => {
    const { suffix, brokers } = bench;
    const topic = `bench.${suffix}.records.events`;
    const pg = new Client({ connectionString: bench.databaseUrl });
    await pg.connect();
    try {
      await phases(bench, pg, suffix, brokers, topic);
    } finally {
      await pg.end();
    }
  });
}

async function phases(bench: RecordsBench, pg: Client, suffix: string, brokers: string[], topic: string) {
  authorization = `Bearer ${await mintToken(AUTH_SEED, {
    sub: 'Practitioner/bench',
    role: 'practitioner',
    issuer: 'medledger.local',
    audience: 'medledger-records',
    expiresIn: '2h',
  })}`;
  const records = () => bench.records;

  // 1. Append latency.
  say(`phase 1: ${APPENDS} registrations, ${CONCURRENCY} in flight`);
  for (let i = 0; i < 50; i++) await register(records().baseUrl); // warm-up
  const latencies: number[] = [];
  let next = 0;
  const phase1Start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < APPENDS) {
        next++;
        latencies.push((await register(records().baseUrl)).ms);
      }
    }),
  );
  const phase1Seconds = (performance.now() - phase1Start) / 1000;
  await waitForEmptyOutbox(pg, 120_000);
  const append = summary(latencies);
  say(`  p50 ${append.p50} ms, p99 ${append.p99} ms, ${round(APPENDS / phase1Seconds)} commands/s`);

  // 2. Commit→Kafka latency at a fixed rate.
  say(`phase 2: ${RATE}/s for ${RATE_SECONDS} s, commit→Kafka`);
  const seen = new Map<string, number>();
  const consumer = new Kafka({ clientId: `bench-${suffix}`, brokers, logLevel: logLevel.NOTHING }).consumer({
    groupId: `bench-outbox-${suffix}`,
    maxWaitTimeInMs: 20,
  });
  await consumer.connect();
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const at = performance.now();
      const id = /"id":"([^"]+)"/.exec(message.value?.toString('utf8') ?? '')?.[1];
      if (id) seen.set(id, at);
      return Promise.resolve();
    },
  });
  await joined;
  await sleep(1_000);
  const sent: Array<{ eventId: string; doneAt: number }> = [];
  const inFlight: Array<Promise<void>> = [];
  const interval = 1000 / RATE;
  const phase2Start = performance.now();
  for (let i = 0; i < RATE * RATE_SECONDS; i++) {
    const due = phase2Start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    inFlight.push(register(records().baseUrl).then((r) => void sent.push(r)));
  }
  await Promise.all(inFlight);
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  while (sent.some((s) => !seen.has(s.eventId)) && Date.now() < deadline) await sleep(50);
  const missing = sent.filter((s) => !seen.has(s.eventId)).length;
  const commitToKafka = summary(
    sent.filter((s) => seen.has(s.eventId)).map((s) => (seen.get(s.eventId) as number) - s.doneAt),
  );
  say(`  p50 ${commitToKafka.p50} ms, p99 ${commitToKafka.p99} ms, missing ${missing}`);
  await consumer.disconnect();

  // 3. Relay throughput.
  say(`phase 3: the relay drains ${RELAY_EVENTS} outbox rows`);
  let firstBulk = '0';
  await bench.restart(async () => {
    await pg.query(
      `INSERT INTO es_outbox (event_id, topic, key, envelope, created_at)
         SELECT g.id, t.topic, g.agg, jsonb_set(jsonb_set(t.envelope, '{id}', to_jsonb(g.id)), '{aggregateid}', to_jsonb(g.agg)), now()
         FROM (SELECT topic, envelope FROM es_outbox ORDER BY position LIMIT 1) t,
              (SELECT gen_random_uuid()::text AS id, gen_random_uuid()::text AS agg FROM generate_series(1, $1)) g`,
      [RELAY_EVENTS],
    );
    const first = await pg.query<{ p: string }>('SELECT min(position) AS p FROM es_outbox WHERE published_at IS NULL');
    firstBulk = first.rows[0]?.p ?? '0';
  });
  await waitForEmptyOutbox(pg, 600_000);
  const span = await pg.query<{ seconds: number; n: string }>(
    `SELECT extract(epoch FROM max(published_at) - min(published_at))::float8 AS seconds, count(*) AS n
       FROM es_outbox WHERE position >= $1`,
    [firstBulk],
  );
  const seconds = Number(span.rows[0]?.seconds ?? NaN);
  const relayRate = round(RELAY_EVENTS / seconds, 0);
  say(`  ${RELAY_EVENTS} events in ${round(seconds, 2)} s: ${relayRate} events/s`);

  const result = {
    bench: 'outbox',
    machine: { cpus: cpus().length, node: process.version },
    appendLatencyMs: { ...append, concurrency: CONCURRENCY, commandsPerSecond: round(APPENDS / phase1Seconds) },
    commitToKafkaMs: { ...commitToKafka, rate: RATE, seconds: RATE_SECONDS, missing },
    relayEventsPerSecond: relayRate,
    relayEvents: RELAY_EVENTS,
  };
  process.stdout.write(
    [
      '',
      '| measure | value |',
      '| ------- | ----- |',
      `| append latency (HTTP POST /fhir/Patient, ${CONCURRENCY} in flight) p50 / p99 / max | ${append.p50} / ${append.p99} / ${append.max} ms |`,
      `| commands/s in that phase | ${result.appendLatencyMs.commandsPerSecond} |`,
      `| commit→Kafka at ${RATE}/s p50 / p99 / max | ${commitToKafka.p50} / ${commitToKafka.p99} / ${commitToKafka.max} ms (missing ${missing}) |`,
      `| relay throughput (${RELAY_EVENTS} rows) | ${relayRate} events/s |`,
      '',
      '',
    ].join('\n'),
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

run(main);

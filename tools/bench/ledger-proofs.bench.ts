/**
 * Proofs at scale (issue 17 §3): inclusion and consistency proofs from a log of 10 k, 1 M and 10 M leaves, cold and
 * warm, while the ledger seals signed events arriving at a fixed 2,000 events/s.
 *
 *   npm run bench:ledger:proofs [-- --sizes 10000,1000000,10000000 --proofs 500 --warm-proofs 2000 --rate 2000]
 *
 *   --sizes a,b,c      log sizes, leaves (10000,1000000,10000000)
 *   --proofs N         cold proofs per kind and size (500)
 *   --warm-proofs N    warm proofs per kind and size: the cold ones, repeated (2000)
 *   --rate N           events/s published while proofs are measured (2000)
 *   --cost-seconds N   sealing-only window at the rate, for the ledger's cost per event (10)
 *   --verify-chain     also run `medledger-verify chain` (the ledger's key pinned) on each size's log after the
 *                      proofs: it reads every leaf over HTTP, so minutes at 1 M and far more at 10 M
 *   --build | --no-build, --keep (keep each size's database; they are dropped otherwise)
 *   --cpu-prof         the ledger under node --cpu-prof: one profile per ledger process, .data/bench/profile-proofs-*
 *
 * Method, for each size N, on a fresh database and fresh topics:
 * 1. Bulk load (ledger-bulk.ts): N leaves, their tiles, blocks of 2,000 signed and hash-linked as the ledger signs
 *    them, straight into PostgreSQL. Load time and rate are printed.
 * 2. A fresh built ledger process starts on it (it checks the right-edge tiles against the newest signed root) and a
 *    producer publishes signed events at --rate through Kafka from then until the end of the size: the ledger seals
 *    them all along. A first window measures the ledger's CPU per sealed event and its seal time per block (the
 *    "cost per event" that must stay flat as the log grows).
 * 3. Inclusion, cold: --proofs requests `GET /v1/proofs/inclusion?index=&treeSize=`, one at a time, for random
 *    indexes of the loaded log at the current signed size; no proof has read anything yet in this process and each
 *    index is a fresh random one, so its tiles come from PostgreSQL (as far as shared buffers go: the OS page cache is
 *    not dropped, since the machine is shared). Warm: the same requests repeated --warm-proofs times in all.
 * 4. The ledger is restarted (fresh process, empty tile cache); consistency proofs `GET /v1/proofs/consistency?from=&to=`
 *    from the tree size of a random loaded block (a checkpoint a client could hold) to the current signed size, cold
 *    then warm, the same way.
 *    Right after the warm inclusion proofs, a floor: GET /v1/keys (one small PostgreSQL read, no proof) as many
 *    times, one at a time, in the same process under the same load: what a light GET costs there.
 * 5. Per proof: latency p50/p99/max, tile rows the ledger read from PostgreSQL (its ledger_proof_tile_rows_read_total)
 *    and tile pages PostgreSQL read from outside its shared buffers (pg_statio, after the statistics settle). A sample
 *    of each kind is verified against the signed checkpoint (ledger's key pinned): inclusion against its root with
 *    the leaf's data from /v1/leaves, consistency against the older block's signed root.
 * Targets: p99 <= 5 ms warm, <= 20 ms cold, at every size; cost per sealed event flat from the smallest size to the
 * largest. Figures from a machine shared with other work are not evidence (docs/perf.md).
 */
import { randomBytes } from 'node:crypto';
import { Agent, get as httpGet } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { Client } from 'pg';
import {
  createSigner,
  leafHash,
  verifierKey,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
  type NoteSigner,
} from '@medledger/ledger-core';
import {
  createDatabaseFromTemplate,
  databaseUrl,
  dropDatabase,
  migrateServiceDatabase,
  runVerifyCli,
  startInfrastructure,
} from '@medledger/testing';
import {
  cliOptions,
  durability,
  gitCommit,
  kafkaVersion,
  machine,
  machineFacts,
  ROOT,
  round,
  run,
  say,
  sleep,
  summary,
} from './common';
import { bulkLoad, type BulkLoadResult } from './ledger-bulk';
import { startPublisher } from './ledger-proofs-publisher';
import {
  buildLedger,
  cpuSnapshot,
  createProducers,
  freePort,
  ledgerBuildIsStale,
  ledgerMetrics,
  startLedger,
  stopLedger,
  topicsOf,
  treeSize,
  waitForHealth,
  type LedgerProcess,
} from './ledger-harness';

const options = cliOptions();
const SIZES = (/--sizes[= ]([\d,_]+)/.exec(process.argv.slice(2).join(' '))?.[1] ?? '10000,1000000,10000000')
  .split(',')
  .map((size) => Number(size.replace(/_/g, '')))
  .filter((size) => Number.isInteger(size) && size > 0);
if (SIZES.length === 0) throw new Error('--sizes must list positive integers, e.g. 10000,1000000');
const COLD_PROOFS = options.number('proofs', 500);
const WARM_PROOFS = options.number('warm-proofs', 2_000);
const RATE = options.number('rate', 2_000);
const COST_SECONDS = options.number('cost-seconds', 10);
const ORIGIN = 'bench.medledger.local/proofs';
/** The producer sends one signed batch per tick, as an outbox relay would. */
const TICK_MS = 50;
const VERIFY_SAMPLE = 20;
/** PostgreSQL flushes a busy backend's statistics within a second, an idle one's within 10 s (PostgreSQL 15). */
const STATS_SETTLE_MS = 11_000;

// ------------------------------------------------------------------------------------------------ proofs

interface Signed {
  size: number;
  root: Uint8Array;
}

async function signedHead(ledger: LedgerProcess, verifier: NoteSigner): Promise<Signed> {
  const note = await (await fetch(`${ledger.url}/v1/checkpoint`)).text();
  const verified = verifyCheckpoint(note, [verifier], ORIGIN);
  if (!verified.ok) throw new Error(`the ledger's checkpoint does not verify: ${verified.reason}`);
  return { size: verified.checkpoint.size, root: verified.checkpoint.root };
}

function httpJson(agent: Agent, url: string): Promise<{ ms: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = httpGet(url, { agent }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        const ms = performance.now() - started;
        if (response.statusCode !== 200) reject(new Error(`${url}: HTTP ${response.statusCode} ${text}`));
        else resolve({ ms, body: JSON.parse(text) });
      });
    });
    request.on('error', reject);
  });
}

/** Tile rows the ledger read for proofs so far, and tile pages PostgreSQL read from outside its shared buffers. */
async function readCounters(ledger: LedgerProcess, url: string) {
  const text = await (await fetch(`${ledger.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('ledger_proof_tile_rows_read_total '));
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ read: string; hit: string }>(
      `SELECT coalesce(heap_blks_read, 0) + coalesce(idx_blks_read, 0) + coalesce(toast_blks_read, 0)
                + coalesce(tidx_blks_read, 0) AS read,
              coalesce(heap_blks_hit, 0) + coalesce(idx_blks_hit, 0) + coalesce(toast_blks_hit, 0)
                + coalesce(tidx_blks_hit, 0) AS hit
       FROM pg_statio_user_tables WHERE relname = 'tile'`,
    );
    return {
      rows: line ? Number(line.split(' ')[1]) : NaN,
      pagesRead: Number(rows[0]?.read ?? NaN),
      pagesHit: Number(rows[0]?.hit ?? NaN),
    };
  } finally {
    await client.end();
  }
}

interface PhaseResult {
  latency: ReturnType<typeof summary>;
  rowsPerProof: number;
  pagesReadPerProof: number;
  pagesHitPerProof: number;
}

/** `urls` one at a time (repeated in order up to `count`), timed; with the tile rows and pages read per proof. */
async function measure(
  ledger: LedgerProcess,
  url: string,
  agent: Agent,
  urls: readonly string[],
  count: number,
  settle: boolean,
): Promise<PhaseResult> {
  const before = await readCounters(ledger, url);
  const samples: number[] = [];
  for (let i = 0; i < count; i += 1) samples.push((await httpJson(agent, urls[i % urls.length] as string)).ms);
  const rowsAfter = (await readCounters(ledger, url)).rows;
  if (settle) await sleep(STATS_SETTLE_MS);
  const after = await readCounters(ledger, url);
  return {
    latency: summary(samples),
    rowsPerProof: round((rowsAfter - before.rows) / count, 2),
    pagesReadPerProof: round((after.pagesRead - before.pagesRead) / count, 2),
    pagesHitPerProof: round((after.pagesHit - before.pagesHit) / count, 2),
  };
}

/** Distinct random integers in [0, bound), at most `count` (fewer when bound is smaller). */
function distinctRandom(count: number, bound: number): number[] {
  const picked = new Set<number>();
  while (picked.size < Math.min(count, bound)) picked.add(Math.floor(Math.random() * bound));
  return [...picked];
}

async function verifyInclusionSample(
  ledger: LedgerProcess,
  agent: Agent,
  verifier: NoteSigner,
  indexes: readonly number[],
): Promise<number> {
  const head = await signedHead(ledger, verifier);
  let verified = 0;
  for (const index of indexes.slice(0, VERIFY_SAMPLE)) {
    const proof = (await httpJson(agent, `${ledger.url}/v1/proofs/inclusion?index=${index}&treeSize=${head.size}`))
      .body as { hashes: string[] };
    const page = (await httpJson(agent, `${ledger.url}/v1/leaves?start=${index}&end=${index + 1}`)).body as {
      leaves: Array<{ leafData: string }>;
    };
    const data = Buffer.from(page.leaves[0]?.leafData ?? '', 'base64');
    const hashes = proof.hashes.map((hash) => Buffer.from(hash, 'base64'));
    const verdict = verifyInclusion(leafHash(data), index, head.size, hashes, head.root);
    if (!verdict.ok) throw new Error(`inclusion proof of leaf ${index} does not verify: ${verdict.reason}`);
    verified += 1;
  }
  return verified;
}

async function verifyConsistencySample(
  ledger: LedgerProcess,
  agent: Agent,
  verifier: NoteSigner,
  heights: readonly number[],
): Promise<number> {
  const head = await signedHead(ledger, verifier);
  let verified = 0;
  for (const height of heights.slice(0, VERIFY_SAMPLE)) {
    const block = (await httpJson(agent, `${ledger.url}/v1/blocks/${height}`)).body as { checkpoint: string };
    // The older tree's root from its own signed checkpoint, not from the header the ledger serves beside it.
    const old = verifyCheckpoint(block.checkpoint, [verifier], ORIGIN);
    if (!old.ok) throw new Error(`block ${height}'s checkpoint does not verify: ${old.reason}`);
    const from = old.checkpoint.size;
    const proof = (await httpJson(agent, `${ledger.url}/v1/proofs/consistency?from=${from}&to=${head.size}`)).body as {
      hashes: string[];
    };
    const hashes = proof.hashes.map((hash) => Buffer.from(hash, 'base64'));
    const verdict = verifyConsistency(from, head.size, hashes, old.checkpoint.root, head.root);
    if (!verdict.ok) throw new Error(`consistency ${from}→${head.size} does not verify: ${verdict.reason}`);
    verified += 1;
  }
  return verified;
}

// ------------------------------------------------------------------------------------------------ one size

interface SizeResult {
  size: number;
  load: Omit<BulkLoadResult, 'root'> & { root: string; gib: number };
  cost: { events: number; ledgerCpuMicrosPerEvent: number; sealMsPerBlock: number; eventsPerBlock: number };
  inclusion: { cold: PhaseResult; warm: PhaseResult; verified: number; treeSize: number };
  consistency: { cold: PhaseResult; warm: PhaseResult; verified: number; treeSize: number };
  /** GET /v1/keys (one small PostgreSQL read, no proof) as often as the warm proofs, right after them: a floor. */
  floor: PhaseResult;
  publisher: { published: number; perSec: number; lateTicks: number; sealedDuring: number };
  /** `medledger-verify chain`'s verdict on the whole log (--verify-chain), else null. */
  verifyChain: { code: number | null; seconds: number; summary: string } | null;
}

async function runSize(
  size: number,
  ctx: { adminUrl: string; admin: Admin; brokers: string[]; suffix: string },
): Promise<SizeResult> {
  const { adminUrl, admin, brokers } = ctx;
  const tag = `${ctx.suffix}-${size}`;
  const database = `medledger_ledger_proofs_${ctx.suffix}_${size}`;
  await createDatabaseFromTemplate(adminUrl, 'template0', database);
  const url = databaseUrl(adminUrl, database);
  const topics = topicsOf(`bench.${ctx.suffix}.proofs${size}`);
  const topicList = Object.values(topics);
  let ledger: LedgerProcess | undefined;
  let publisher: ReturnType<typeof startPublisher> | undefined;
  try {
    await migrateServiceDatabase(ROOT, 'ledger', url);
    await admin.createTopics({
      topics: topicList.map((topic) => ({ topic, numPartitions: 4, replicationFactor: 1 })),
      waitForLeaders: true,
    });
    const producers = createProducers();
    const seed = randomBytes(32);
    const verifier = createSigner(ORIGIN, seed);
    say(`size ${size}: bulk loading ${database}...`);
    const loaded = await bulkLoad({
      databaseUrl: url,
      leaves: size,
      origin: ORIGIN,
      seed,
      producers,
      topics,
      log: say,
    });
    const load = { ...loaded, root: Buffer.from(loaded.root).toString('base64') };
    const gib = round(load.databaseBytes / 2 ** 30, 2);
    say(
      `size ${size}: loaded ${load.leaves} leaves in ${load.blocks} blocks, ${load.tiles} tiles, in ` +
        `${round(load.seconds.total, 1)} s (${round(load.leavesPerSecond, 0)} leaves/s; build ${round(load.seconds.build, 1)} s, ` +
        `rows ${round(load.seconds.rows, 1)} s, indexes ${round(load.seconds.indexes, 1)} s); database ${gib} GiB`,
    );

    const port = await freePort();
    const env: Record<string, string> = {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_GROUP_ID: `bench-proofs-diag-${tag}`,
      KAFKA_CLIENT_ID: `bench-proofs-${tag}`,
      LEDGER_GROUP_ID: `bench-proofs-${tag}`,
      LEDGER_TOPICS: topicList.join(','),
      LEDGER_PRODUCER_KEYS: producers.verifierKeys.join(','),
      LEDGER_SIGNING_KEY: seed.toString('base64'),
      LEDGER_ORIGIN: ORIGIN,
      LOG_LEVEL: 'warn',
    };
    const logFile = join(ROOT, `.data/bench/ledger-proofs-${tag}.log`);
    const start = async () => {
      const started = startLedger(
        env,
        logFile,
        options.flag('cpu-prof') ? join(ROOT, '.data/bench', `profile-proofs-${tag}`) : undefined,
      );
      await waitForHealth(started);
      return started;
    };
    ledger = await start();
    say(`size ${size}: ledger started on it (log ${logFile}); publishing ${RATE} events/s...`);
    publisher = startPublisher({ brokers, topics, seeds: producers.seeds, rate: RATE, tickMs: TICK_MS });

    // The cost of sealing at this size: ledger CPU per sealed event and seal time per block, at the fixed rate.
    await waitForGrowth(ledger, size);
    const metricsBefore = await ledgerMetrics(ledger);
    const cpuBefore = cpuSnapshot(ledger.child.pid);
    await sleep(COST_SECONDS * 1000);
    const cpuAfter = cpuSnapshot(ledger.child.pid);
    const metricsAfter = await ledgerMetrics(ledger);
    const delta = (name: string) => (metricsAfter[name] ?? 0) - (metricsBefore[name] ?? 0);
    const sealedEvents = delta('ledger_events_sealed_total');
    const blocks = delta('ledger_blocks_sealed_total');
    const cost = {
      events: sealedEvents,
      ledgerCpuMicrosPerEvent: round(((cpuAfter.ledger - cpuBefore.ledger) * 1e6) / (sealedEvents || NaN), 1),
      sealMsPerBlock: round((delta('ledger_block_seal_seconds_sum') * 1000) / (blocks || NaN), 2),
      eventsPerBlock: round(sealedEvents / (blocks || NaN), 0),
    };
    say(`size ${size}: sealing cost ${JSON.stringify(cost)}`);

    // The ledger has served no proof yet: cold inclusion.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const inclusionHead = await signedHead(ledger, verifier);
    const indexes = distinctRandom(COLD_PROOFS, size);
    const inclusionUrls = indexes.map(
      (index) => `${ledger?.url}/v1/proofs/inclusion?index=${index}&treeSize=${inclusionHead.size}`,
    );
    say(`size ${size}: ${indexes.length} cold inclusion proofs at tree size ${inclusionHead.size}...`);
    const inclusionCold = await measure(ledger, url, agent, inclusionUrls, inclusionUrls.length, true);
    say(`size ${size}: inclusion cold ${JSON.stringify(inclusionCold)}; ${WARM_PROOFS} warm...`);
    const inclusionWarm = await measure(ledger, url, agent, inclusionUrls, WARM_PROOFS, false);
    // A floor: a light GET of the same ledger (its keys: one small PostgreSQL read, no proof) through the same HTTP
    // stack, in the same process under the same sealing load, timed the same way: what a GET costs here.
    const floor = await measure(ledger, url, agent, [`${ledger.url}/v1/keys`], WARM_PROOFS, false);
    say(`size ${size}: floor (GET /v1/keys) ${JSON.stringify(floor.latency)}`);
    const inclusionVerified = await verifyInclusionSample(ledger, agent, verifier, indexes);
    agent.destroy();

    // A fresh process for cold consistency proofs (the inclusion proofs filled its tile cache).
    await stopLedger(ledger);
    ledger = await start();
    const consistencyAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const consistencyHead = await signedHead(ledger, verifier);
    const heights = distinctRandom(COLD_PROOFS, load.blocks);
    const fromSizes = heights.map((height) => Math.min(size, (height + 1) * 2_000));
    const consistencyUrls = fromSizes.map(
      (from) => `${ledger?.url}/v1/proofs/consistency?from=${from}&to=${consistencyHead.size}`,
    );
    say(`size ${size}: ${consistencyUrls.length} cold consistency proofs to tree size ${consistencyHead.size}...`);
    const consistencyCold = await measure(ledger, url, consistencyAgent, consistencyUrls, consistencyUrls.length, true);
    say(`size ${size}: consistency cold ${JSON.stringify(consistencyCold)}; ${WARM_PROOFS} warm...`);
    const consistencyWarm = await measure(ledger, url, consistencyAgent, consistencyUrls, WARM_PROOFS, false);
    const consistencyVerified = await verifyConsistencySample(ledger, consistencyAgent, verifier, heights);
    consistencyAgent.destroy();

    const published = await publisher.stop();
    publisher = undefined;
    const finalSize = await treeSize(ledger);
    let verifyChain: SizeResult['verifyChain'] = null;
    if (options.flag('verify-chain')) {
      const keyring = join(ROOT, `.data/bench/ledger-proofs-${tag}.keys`);
      writeFileSync(keyring, `${verifierKey(ORIGIN, verifier.publicKey)}\n`);
      say(`size ${size}: medledger-verify chain --url ${ledger.url} --keyring ${keyring}...`);
      const started = performance.now();
      const verdict = await runVerifyCli('chain', '--url', ledger.url, '--keyring', keyring, '--quiet');
      const output = `${verdict.stdout}${verdict.stderr}`.trim();
      verifyChain = {
        code: verdict.code,
        seconds: round((performance.now() - started) / 1000, 1),
        summary: output.split('\n').slice(-3).join(' | '),
      };
      say(`size ${size}: medledger-verify chain exited ${verdict.code}: ${output.slice(-1_000)}`);
      if (verdict.code !== 0) throw new Error(`medledger-verify chain refused the bulk-loaded log: ${output}`);
    }
    return {
      size,
      load: { ...load, gib },
      cost,
      inclusion: {
        cold: inclusionCold,
        warm: inclusionWarm,
        verified: inclusionVerified,
        treeSize: inclusionHead.size,
      },
      consistency: {
        cold: consistencyCold,
        warm: consistencyWarm,
        verified: consistencyVerified,
        treeSize: consistencyHead.size,
      },
      floor,
      publisher: { ...published, perSec: round(published.perSec, 0), sealedDuring: finalSize - size },
      verifyChain,
    };
  } finally {
    await publisher?.stop().catch(() => undefined);
    await stopLedger(ledger);
    if (!options.flag('keep')) {
      await dropDatabase(adminUrl, database).catch((error: unknown) => say(`drop ${database}: ${String(error)}`));
      await admin.deleteTopics({ topics: [...topicList, ...topicList.map((t) => `${t}.dlq`)] }).catch(() => undefined);
    } else say(`kept database ${database}`);
  }
}

/**
 * Waits until the ledger has sealed some of the published events on top of the loaded log (the producer process and
 * the ledger's consumer group take a while to start on a busy machine).
 */
async function waitForGrowth(ledger: LedgerProcess, loaded: number): Promise<void> {
  const deadline = Date.now() + 180_000;
  while ((await treeSize(ledger)) <= loaded) {
    if (Date.now() > deadline) throw new Error(`the ledger sealed nothing in 180 s; see ${ledger.logFile}`);
    await sleep(200);
  }
}

// ------------------------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  const infrastructure = await startInfrastructure({ rootDir: ROOT, log: say });
  const brokers = infrastructure.kafkaBrokers;
  const adminUrl = infrastructure.postgresUrl;
  const postgres = await durability(adminUrl);
  mkdirSync(join(ROOT, '.data/bench'), { recursive: true });
  if (options.flag('build') || (!options.flag('no-build') && ledgerBuildIsStale())) {
    say('building the ledger (nx build ledger)...');
    await buildLedger(process.env['DATABASE_URL'] ?? adminUrl);
  }
  const suffix = randomBytes(4).toString('hex');
  const kafka = new Kafka({ clientId: `bench-proofs-${suffix}`, brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const results: SizeResult[] = [];
  try {
    for (const size of SIZES) results.push(await runSize(size, { adminUrl, admin, brokers, suffix }));
  } finally {
    await admin.disconnect();
    await infrastructure.stop();
  }

  const ms = (value: number) => `${value}`;
  const header = [
    'size',
    'load s (leaves/s)',
    'DB GiB',
    'µs CPU/event',
    'seal ms/block',
    'kind',
    'cold p50/p99/max ms',
    'cold rows, pages/proof',
    'warm p50/p99/max ms',
    'warm rows/proof',
    'floor p50/p99 ms (GET /v1/keys)',
    'targets (p99 ≤ 20 cold, ≤ 5 warm)',
  ];
  const rows: string[][] = [];
  for (const r of results) {
    for (const kind of ['inclusion', 'consistency'] as const) {
      const { cold, warm } = r[kind];
      rows.push([
        String(r.size),
        kind === 'inclusion' ? `${round(r.load.seconds.total, 1)} (${round(r.load.leavesPerSecond, 0)})` : '',
        kind === 'inclusion' ? String(r.load.gib) : '',
        kind === 'inclusion' ? String(r.cost.ledgerCpuMicrosPerEvent) : '',
        kind === 'inclusion' ? String(r.cost.sealMsPerBlock) : '',
        kind,
        `${ms(cold.latency.p50)} / ${ms(cold.latency.p99)} / ${ms(cold.latency.max)}`,
        `${cold.rowsPerProof}, ${cold.pagesReadPerProof}`,
        `${ms(warm.latency.p50)} / ${ms(warm.latency.p99)} / ${ms(warm.latency.max)}`,
        String(warm.rowsPerProof),
        kind === 'inclusion' ? `${ms(r.floor.latency.p50)} / ${ms(r.floor.latency.p99)}` : '',
        `${cold.latency.p99 <= 20 ? 'pass' : 'FAIL'} / ${warm.latency.p99 <= 5 ? 'pass' : 'FAIL'}`,
      ]);
    }
  }
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]?.length ?? 0)));
  const line = (cells: readonly string[]) => cells.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ');
  process.stdout.write(`\n${line(header)}\n${rows.map(line).join('\n')}\n`);
  const first = results[0];
  const last = results.at(-1);
  if (first && last && first !== last) {
    process.stdout.write(
      `\ncost per sealed event at ${RATE}/s: ${first.cost.ledgerCpuMicrosPerEvent} µs CPU at ${first.size} leaves, ` +
        `${last.cost.ledgerCpuMicrosPerEvent} µs at ${last.size} (seal ${first.cost.sealMsPerBlock} → ` +
        `${last.cost.sealMsPerBlock} ms/block)\n`,
    );
  }
  process.stdout.write(
    `machine: ${machine()}; PostgreSQL ` +
      `${postgres.version} (fsync ${postgres.fsync}, synchronous_commit ${postgres.synchronous_commit}); Kafka ` +
      `${kafkaVersion()}\n\n`,
  );
  process.stdout.write(
    `${JSON.stringify({
      bench: 'ledger-proofs',
      ...gitCommit(),
      machine: machineFacts(),
      postgres,
      kafka: { version: kafkaVersion(), brokers: brokers.length },
      rate: RATE,
      coldProofs: COLD_PROOFS,
      warmProofs: WARM_PROOFS,
      results,
    })}\n`,
  );
}

run(main);

/**
 * The ledger benchmarks' shared parts (ledger.bench.ts, ledger-compare.bench.ts): realistic signed events of the
 * three producers, their topics, the built ledger as a child process, and CPU accounting from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Message } from 'kafkajs';
import {
  ed25519PublicKeyFromSeed,
  encodeSignedEvent,
  generateEd25519KeyPair,
  OriginSigner,
  verifierKey,
} from '@medledger/ledger-core';
import { ROOT, round, sleep } from './common';

const HEALTH_TIMEOUT_MS = 90_000;
/** Waiting for the tree fails if it stops growing for this long. */
const STALL_TIMEOUT_MS = 60_000;

// ------------------------------------------------------------------------------------------------ helpers

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

/** CPU seconds (user + system) of processes, from /proc; Linux only, empty elsewhere. */
const CLOCK_TICKS = 100;
function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
function pidsByCommand(match: (comm: string, cmdline: string) => boolean): number[] {
  if (!existsSync('/proc')) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (match(comm, cmdline)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}
export interface CpuSnapshot {
  at: number;
  ledger: number;
  kafka: number;
  postgres: number;
  bench: number;
}
export function cpuSnapshot(ledgerPid: number | undefined): CpuSnapshot {
  const sum = (pids: number[]) => pids.reduce((total, pid) => total + processCpuSeconds(pid), 0);
  return {
    at: performance.now(),
    ledger: ledgerPid ? processCpuSeconds(ledgerPid) : 0,
    kafka: sum(pidsByCommand((_, cmdline) => cmdline.includes('kafka.Kafka'))),
    postgres: sum(pidsByCommand((comm) => comm === 'postgres')),
    bench: processCpuSeconds(process.pid),
  };
}
/** Cores busy per process group between two snapshots (1.0 = one core fully used). */
export function coresUsed(from: CpuSnapshot, to: CpuSnapshot) {
  const seconds = (to.at - from.at) / 1000;
  const share = (key: Exclude<keyof CpuSnapshot, 'at'>) => round((to[key] - from[key]) / seconds, 2);
  return { ledger: share('ledger'), kafka: share('kafka'), postgres: share('postgres'), bench: share('bench') };
}

/** True when dist/apps/ledger/main.js is older than any source file it is built from. */
export function ledgerBuildIsStale(): boolean {
  const output = join(ROOT, 'dist/apps/ledger/main.js');
  if (!existsSync(output)) return true;
  const built = statSync(output).mtimeMs;
  const newer = (dir: string): boolean => {
    if (!existsSync(dir)) return false;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() ? newer(path) : statSync(path).mtimeMs > built) return true;
    }
    return false;
  };
  return ['apps/ledger/src', 'apps/ledger/prisma', 'libs/contracts/src', 'libs/ledger-core/src', 'libs/platform/src']
    .map((dir) => join(ROOT, dir))
    .some(newer);
}

/** `nx build ledger` with the local nx binary (no npx registry look-up); Prisma generate needs DATABASE_URL set. */
export async function buildLedger(databaseUrlForPrisma: string): Promise<void> {
  const child = spawn(join(ROOT, 'node_modules/.bin/nx'), ['build', 'ledger', '--outputStyle=stream'], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, DATABASE_URL: databaseUrlForPrisma },
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`nx build ledger exited with ${code}`);
}

// ------------------------------------------------------------------------------------------------ events

/**
 * Realistic public events of the three producers, without PHI: identifiers, codes and salted commitments. Each
 * envelope is about 500 bytes before its proof of origin; the proof (note, index, batch path) adds the rest.
 */
export type Service = 'records' | 'trials' | 'supply';
export const SERVICES: readonly Service[] = ['records', 'trials', 'supply'];

function commitment(): string {
  return createHash('sha256').update(randomBytes(16)).digest('base64');
}

export function envelope(service: Service, n: number): Record<string, unknown> {
  const common = {
    specversion: '1.0',
    id: randomUUID(),
    source: `/medledger/${service}`,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    correlationid: randomUUID(),
    causationid: randomUUID(),
  };
  switch (service) {
    case 'supply': {
      const serial = `S${String(n).padStart(10, '0')}`;
      return {
        ...common,
        type: 'supply.PackShipped',
        subject: `urn:epc:id:sgtin:0950600.013435.${serial}`,
        aggregateid: `pack-${serial}`,
        aggregateversion: 2,
        data: {
          gtin: '09506000134352',
          serial,
          lot: 'LOT2026A17',
          expiry: '2028-06-30',
          bizStep: 'urn:epcglobal:cbv:bizstep:shipping',
          disposition: 'urn:epcglobal:cbv:disp:in_transit',
          readPoint: 'urn:epc:id:sgln:0950600.01343.1',
          destination: 'urn:epc:id:sgln:0614141.00777.0',
        },
      };
    }
    case 'records':
      return {
        ...common,
        type: 'records.ConsentGranted',
        subject: `consent/${randomUUID()}`,
        aggregateid: `patient-${n % 50_000}`,
        aggregateversion: 1 + (n % 7),
        data: {
          patientCommitment: commitment(),
          grantee: 'org:hospital-0042',
          purpose: 'TREAT',
          resourceTypes: ['Observation', 'Condition', 'MedicationRequest'],
          validUntil: '2027-12-31T23:59:59.000Z',
          policyVersion: 3,
        },
      };
    case 'trials':
      return {
        ...common,
        type: 'trials.OutcomeRecorded',
        subject: 'trial/NCT09876543',
        aggregateid: 'trial-NCT09876543',
        aggregateversion: 1000 + n,
        data: {
          trialId: 'NCT09876543',
          armId: n % 2 === 0 ? 'arm-a' : 'arm-b',
          outcomeId: 'primary-hba1c-12w',
          participantCommitment: commitment(),
          valueCommitment: commitment(),
          recordedBy: 'site-017',
        },
      };
  }
}

export interface Producers {
  signers: Record<Service, OriginSigner>;
  verifierKeys: string[];
  /** Each producer's Ed25519 seed: what another thread needs to sign as the same producers. */
  seeds: Record<Service, Uint8Array>;
}

/** The three producers with fresh keys, or with `seeds` (the same producers in another thread). */
export function createProducers(seeds?: Readonly<Record<Service, Uint8Array>>): Producers {
  const signers = {} as Record<Service, OriginSigner>;
  const verifierKeys: string[] = [];
  const used = {} as Record<Service, Uint8Array>;
  for (const service of SERVICES) {
    const seed = seeds?.[service] ?? generateEd25519KeyPair().seed;
    used[service] = seed;
    signers[service] = new OriginSigner(service, seed);
    verifierKeys.push(verifierKey(service, ed25519PublicKeyFromSeed(seed)));
  }
  return { signers, verifierKeys, seeds: used };
}

export interface PreparedEvent {
  id: string;
  /** Its producer: each service's events go on that service's topic (the ledger refuses them elsewhere). */
  service: Service;
  message: Message;
}

/** A phase's topics, one per producer: `<prefix>.<service>.events`, as the ledger requires (serviceOfTopic). */
export type Topics = Readonly<Record<Service, string>>;

export function topicsOf(prefix: string): Topics {
  return { records: `${prefix}.records.events`, trials: `${prefix}.trials.events`, supply: `${prefix}.supply.events` };
}

/** Messages grouped by their producer's topic, for one produce request. */
export function byTopic(
  topics: Topics,
  events: readonly PreparedEvent[],
): Array<{ topic: string; messages: Message[] }> {
  return SERVICES.map((service) => ({
    topic: topics[service],
    messages: events.filter((event) => event.service === service).map((event) => event.message),
  })).filter((entry) => entry.messages.length > 0);
}

/** `count` events in producer batches of `batchSize`, each batch from one service (round robin), signed. */
/**
 * How events are written on the wire: `canonical` (RFC 8785, as the services' outbox publishes them) or `json`
 * (JSON.stringify in the envelope's own member order: a producer that does not, which the ledger canonicalises).
 */
export type Wire = 'canonical' | 'json';

export function prepareEvents(
  producers: Producers,
  count: number,
  batchSize: number,
  wire: Wire = 'canonical',
): PreparedEvent[] {
  const events: PreparedEvent[] = [];
  for (let start = 0, b = 0; start < count; start += batchSize, b += 1) {
    const service = SERVICES[b % SERVICES.length] as Service;
    const size = Math.min(batchSize, count - start);
    const batch = Array.from({ length: size }, (_, i) => envelope(service, start + i));
    for (const signed of producers.signers[service].signBatch(batch)) {
      const event = signed as Record<string, unknown>;
      events.push({
        id: event['id'] as string,
        service,
        // Keyed by aggregate, as the services would, so one aggregate's events stay in order on one partition.
        message: {
          key: event['aggregateid'] as string,
          value: Buffer.from(wire === 'canonical' ? encodeSignedEvent(event) : JSON.stringify(event)),
        },
      });
    }
  }
  return events;
}

// ------------------------------------------------------------------------------------------------ the ledger

export interface LedgerProcess {
  child: ChildProcess;
  url: string;
  logFile: string;
}

/** Ledgers this process started and has not seen exit: killed if the bench itself exits (or crashes) first. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function startLedger(
  env: Record<string, string>,
  logFile: string,
  cpuProfDir: string | undefined,
): LedgerProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  const nodeArgs = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'dist/apps/ledger/main.js')], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  running.add(child);
  child.once('exit', () => running.delete(child));
  return { child, url: `http://127.0.0.1:${env['PORT']}`, logFile };
}

export async function stopLedger(ledger: LedgerProcess | undefined): Promise<void> {
  const child = ledger?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

export function assertAlive(ledger: LedgerProcess): void {
  if (ledger.child.exitCode !== null || ledger.child.signalCode !== null) {
    throw new Error(
      `the ledger exited (${ledger.child.signalCode ?? ledger.child.exitCode}); see ${ledger.logFile}:\n` +
        readFileSync(ledger.logFile, 'utf8').slice(-3000),
    );
  }
}

export async function waitForHealth(ledger: LedgerProcess): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    assertAlive(ledger);
    try {
      if ((await fetch(`${ledger.url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`the ledger was not healthy after ${HEALTH_TIMEOUT_MS} ms; see ${ledger.logFile}`);
}

export async function treeSize(ledger: LedgerProcess): Promise<number> {
  try {
    const response = await fetch(`${ledger.url}/v1/checkpoint`);
    if (!response.ok) return 0;
    const size = (await response.text()).split('\n')[1];
    return Number(size ?? 0);
  } catch {
    return 0;
  }
}

export async function waitForTreeSize(ledger: LedgerProcess, wanted: number): Promise<void> {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    assertAlive(ledger);
    const size = await treeSize(ledger);
    if (size >= wanted) return;
    if (size !== last) {
      last = size;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > STALL_TIMEOUT_MS) {
      throw new Error(`the tree stopped growing at ${size} of ${wanted}; see ${ledger.logFile}`);
    }
    await sleep(250);
  }
}

export interface BlockInfo {
  height: number;
  leafCount: number;
  treeSize: number;
  sealedAt: string;
}

export async function allBlocks(ledger: LedgerProcess): Promise<BlockInfo[]> {
  const blocks: BlockInfo[] = [];
  for (let from: number | null = 0; from !== null; ) {
    const response = await fetch(`${ledger.url}/v1/blocks?from=${from}&limit=1000`);
    const page = (await response.json()) as { blocks: BlockInfo[]; next: number | null };
    blocks.push(...page.blocks);
    from = page.next;
  }
  return blocks;
}

/** A few values of the ledger's own Prometheus metrics. */
export async function ledgerMetrics(ledger: LedgerProcess): Promise<Record<string, number>> {
  const text = await (await fetch(`${ledger.url}/metrics`)).text();
  const wanted = [
    'ledger_events_sealed_total',
    'ledger_blocks_sealed_total',
    'ledger_block_seal_seconds_sum',
    'ledger_block_seal_seconds_count',
    'ledger_events_dead_lettered_total',
  ];
  const values: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [name, value] = line.split(/\s+/);
    const base = name?.replace(/\{.*\}$/, '');
    if (base && wanted.includes(base)) values[base] = (values[base] ?? 0) + Number(value);
  }
  return values;
}

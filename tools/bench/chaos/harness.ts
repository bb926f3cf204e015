/**
 * What the chaos scenarios share: the built ledger as a child process that can be SIGKILLed and started again on
 * the same database, port and consumer group; producers that sign realistic public events; the ledger's HTTP
 * API; and medledger-verify run in this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { createSigner, encodeSignedEvent, verifierKey, type NoteSigner } from '@medledger/ledger-core';
import { createDatabaseFromTemplate, databaseUrl, dropDatabase, migrateServiceDatabase } from '@medledger/testing';
import { ROOT, sleep } from '../common';
import { SERVICES, type Producers, type Service, type Topics } from '../ledger-harness';

export const say = (message: string) => process.stdout.write(`[chaos] ${message}\n`);

/** HTTP ports the chaos services listen on (the brief of issue 17 keeps 3700–3799 for them). */
const PORT_RANGE = { from: 3700, to: 3799 } as const;
/** How long a started service may take to answer /health: CHAOS_HEALTH_TIMEOUT_MS on a machine loaded by other work. */
const HEALTH_TIMEOUT_MS = Number(process.env['CHAOS_HEALTH_TIMEOUT_MS'] ?? 90_000);

/** What every scenario is given. */
export interface ChaosContext {
  brokers: string[];
  /** A database with the right to create databases. */
  adminUrl: string;
  /** Names of this run's databases and topics. */
  suffix: string;
  short: boolean;
  /** Numeric option `--name` (or the scenario's default). */
  number(name: string, fallback: number): number;
  /** Text option `--name` (undefined when not given). */
  text(name: string): string | undefined;
  /** Dropped databases, deleted topics, stopped processes: run in reverse order at the end. */
  cleanups: Array<() => Promise<unknown>>;
}

/** One scenario's verdict: its line, and its figures for the JSON summary. */
export interface ScenarioResult {
  figures: Record<string, number | string | boolean>;
  pass: boolean;
  /** The figures in words, for the scenario's line. */
  summary: string;
  /** What a FAIL is about (first problems found). */
  notes?: string[];
}

export async function freePortInRange(): Promise<number> {
  // From a random place in the range: several checkouts' runs on one machine share it, and two that both took its
  // first free port would race to bind it (one service's health check then answered by the other's).
  const size = PORT_RANGE.to - PORT_RANGE.from + 1;
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = PORT_RANGE.from + ((start + i) % size);
    if (await portIsFree(port)) return port;
  }
  throw new Error(`no free port in ${PORT_RANGE.from}-${PORT_RANGE.to}`);
}

/** Whether `port` can be bound on the loopback address now (it is released again at once). */
export async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  const free = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (free) {
    server.close();
    await once(server, 'close');
  }
  return free;
}

export async function freshDatabase(
  context: ChaosContext,
  app: 'ledger' | 'records' | 'trials' | 'supply',
  name: string,
): Promise<string> {
  const database = `medledger_${app}_chaos_${name}_${context.suffix}`;
  await createDatabaseFromTemplate(context.adminUrl, 'template0', database);
  context.cleanups.push(() => dropDatabase(context.adminUrl, database));
  const url = databaseUrl(context.adminUrl, database);
  await migrateServiceDatabase(ROOT, app, url);
  return url;
}

// ------------------------------------------------------------------------------------------------ producers

// The producers' keys and topics are the ledger benchmarks' (ledger-harness.ts).
export { createProducers, SERVICES, topicsOf, type Producers, type Service, type Topics } from '../ledger-harness';

const commitment = () => createHash('sha256').update(randomBytes(16)).digest('base64');

/** A realistic public event of `service` (no PHI: ids, codes, salted commitments), before its proof of origin. */
export function envelope(service: Service, n: number): Record<string, unknown> {
  const common = {
    specversion: '1.0',
    id: randomUUID(),
    source: `/medledger/${service}`,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    correlationid: randomUUID(),
  };
  switch (service) {
    case 'supply':
      return {
        ...common,
        type: 'supply.PackShipped',
        subject: `pack/S${n}`,
        aggregateid: `pack-S${n}`,
        aggregateversion: 2,
        data: { gtin: '09506000134352', serial: `S${n}`, lot: 'LOT2026A17', expiry: '2028-06-30' },
      };
    case 'records':
      return {
        ...common,
        type: 'records.ConsentGranted',
        subject: `consent/${randomUUID()}`,
        aggregateid: `patient-${n % 5_000}`,
        aggregateversion: 1 + Math.floor(n / 5_000),
        data: { patientCommitment: commitment(), grantee: 'org:hospital-0042', purpose: 'TREAT' },
      };
    case 'trials':
      return {
        ...common,
        type: 'trials.OutcomeRecorded',
        subject: 'trial/NCT09876543',
        aggregateid: 'trial-NCT09876543',
        aggregateversion: 1000 + n,
        data: { trialId: 'NCT09876543', participantCommitment: commitment(), valueCommitment: commitment() },
      };
  }
}

/** An event ready to publish: its producer, its id, the unsigned envelope (what a service keeps) and its bytes. */
export interface PreparedEvent {
  id: string;
  service: Service;
  unsigned: Record<string, unknown>;
  key: string;
  value: string;
}

/** `count` events round-robin over the producers (in that order), each producer signing batches of `batch`. */
export function prepareEvents(producers: Producers, count: number, batch = 100): PreparedEvent[] {
  const unsigned = Array.from({ length: count }, (_, n) => envelope(SERVICES[n % SERVICES.length] as Service, n));
  const signed = new Map<Record<string, unknown>, string>();
  for (const service of SERVICES) {
    const own = unsigned.filter((event) => event['source'] === `/medledger/${service}`);
    for (let i = 0; i < own.length; i += batch) {
      const part = own.slice(i, i + batch);
      producers.signers[service]
        .signBatch(part)
        .forEach((event, j) => signed.set(part[j] as Record<string, unknown>, encodeSignedEvent(event)));
    }
  }
  return unsigned.map((event, n) => ({
    id: event['id'] as string,
    service: SERVICES[n % SERVICES.length] as Service,
    unsigned: event,
    key: event['aggregateid'] as string,
    value: signed.get(event) as string,
  }));
}

// ------------------------------------------------------------------------------------------------ Kafka

export interface KafkaHandles {
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
}

export async function connectKafka(context: ChaosContext, clientId: string): Promise<KafkaHandles> {
  const kafka = new Kafka({ clientId, brokers: context.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  context.cleanups.push(async () => {
    await producer.disconnect();
    await admin.disconnect();
  });
  return { kafka, admin, producer };
}

export async function createTopics(
  context: ChaosContext,
  admin: Admin,
  topics: readonly string[],
  partitions = 3,
): Promise<void> {
  await admin.createTopics({
    topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
    waitForLeaders: true,
  });
  context.cleanups.push(() => admin.deleteTopics({ topics: [...topics, ...topics.map((t) => `${t}.dlq`)] }));
}

/** Publishes events to their producers' topics in produce requests of `slice`, keyed by aggregate. */
export async function publish(
  producer: Producer,
  topics: Topics,
  events: readonly PreparedEvent[],
  slice = 500,
): Promise<void> {
  for (let i = 0; i < events.length; i += slice) {
    const part = events.slice(i, i + slice);
    await producer.sendBatch({
      topicMessages: SERVICES.map((service) => ({
        topic: topics[service],
        messages: part.filter((e) => e.service === service).map((e) => ({ key: e.key, value: e.value })),
      })).filter((group) => group.messages.length > 0),
    });
  }
}

// ------------------------------------------------------------------------------------------------ the ledger

export interface LedgerOptions {
  databaseUrl: string;
  topics: readonly string[];
  producerKeys: readonly string[];
  /** A fresh one per ledger: its announcements are told apart from other runs' on the shared blocks topic. */
  origin: string;
  env?: Record<string, string>;
}

/** A built service (dist/apps/<app>/main.js) on a fixed port: launched, SIGKILLed and launched again alike. */
export class AppProcess {
  readonly baseUrl: string;
  readonly logPath: string;
  /** Exits nobody asked for, each with the reason the process logged last. */
  readonly exits: string[] = [];
  private child: ChildProcess | undefined;
  private expectedExit = false;
  private supervised = false;

  constructor(
    readonly app: 'ledger' | 'records' | 'trials' | 'supply',
    readonly port: number,
    protected readonly env: Record<string, string>,
    suffix: string,
  ) {
    this.baseUrl = `http://127.0.0.1:${port}`;
    mkdirSync(join(ROOT, '.data/chaos'), { recursive: true });
    this.logPath = join(ROOT, `.data/chaos/${app}-${suffix}.log`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The consumer group its Kafka transport (diagnostics, announcements) joins. */
  get consumerGroup(): string {
    return this.env['KAFKA_GROUP_ID'] ?? '';
  }

  /**
   * From now on, an exit nobody asked for is restarted after 1 s, as the stack's supervisor (tools/scripts/
   * supervisor.ts) and compose's restart policy do; each such exit is counted in {@link exits}.
   */
  supervise(): void {
    this.supervised = true;
  }

  async launch(): Promise<void> {
    this.expectedExit = false;
    const log = openSync(this.logPath, 'a');
    const child = spawn(process.execPath, [join(ROOT, `dist/apps/${this.app}/main.js`)], {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    this.child = child;
    child.once('exit', (code, signal) => {
      if (this.expectedExit || this.child !== child) return;
      this.exits.push(`exit ${code ?? signal}: ${lastReason(this.output())}`);
      if (this.supervised) setTimeout(() => void this.launch().catch(() => undefined), 1_000);
    });
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${this.app} exited with ${child.exitCode}:\n${this.output()}`);
      try {
        if ((await fetch(`${this.baseUrl}/health`)).ok) {
          // Another process may have taken the port first and answered: this one then exits (EADDRINUSE) soon.
          await sleep(500);
          // (child.exitCode is narrowed to null above, but the sleep may have changed it.)
          if ((child.exitCode as number | null) !== null) throw new Error(`${this.app} exited:\n${this.output()}`);
          return;
        }
      } catch (error) {
        if (child.exitCode !== null) throw error;
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${this.app} did not become healthy:\n${this.output()}`);
      await sleep(100);
    }
  }

  /** SIGKILL: no shutdown hook runs, whatever was in flight is cut off. */
  async kill(): Promise<void> {
    const child = this.child;
    this.expectedExit = true;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.expectedExit = true;
    this.supervised = false;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const stopped = await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]);
    if (!stopped) await this.kill();
  }

  output(): string {
    try {
      return readFileSync(this.logPath, 'utf8').slice(-5_000);
    } catch {
      return '';
    }
  }

  async json<T>(path: string): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`);
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }
}

/** Why a process ended, from its log: the last fatal log line's message, else the first line of a thrown error. */
function lastReason(output: string): string {
  const fatal = [...output.matchAll(/"level":60.*?"msg":"([^"]*)"/g)].at(-1)?.[1];
  if (fatal) return fatal;
  const thrown = /^(\w*Error[^\n]*|error: [^\n]*)$/m.exec(output)?.[1];
  const code = /code: '([0-9A-Z]{5})'/.exec(output)?.[1];
  return thrown ? `${thrown.slice(0, 160)}${code ? ` (${code})` : ''}` : 'no reason logged';
}

/** Starts `app` on a port of the chaos range with `env` (plus PORT, HOST, KAFKA_BROKERS) and waits for /health. */
export async function startApp(
  context: ChaosContext,
  app: AppProcess['app'],
  name: string,
  env: Record<string, string>,
): Promise<AppProcess> {
  const port = await freePortInRange();
  const service = new AppProcess(app, port, chaosEnv(context, port, env), `${name}-${context.suffix}`);
  context.cleanups.push(() => service.stop());
  await service.launch();
  return service;
}

function chaosEnv(context: ChaosContext, port: number, env: Record<string, string>): Record<string, string> {
  return {
    NODE_ENV: 'development',
    PORT: String(port),
    HOST: '127.0.0.1',
    KAFKA_BROKERS: context.brokers.join(','),
    LOG_LEVEL: process.env['CHAOS_LOG_LEVEL'] ?? 'warn',
    ...env,
  };
}

/** The built ledger on a fixed port, database and consumer group, across restarts. */
export class LedgerUnderTest extends AppProcess {
  readonly signer: NoteSigner;

  private constructor(
    port: number,
    readonly options: LedgerOptions,
    seed: Uint8Array,
    env: Record<string, string>,
    suffix: string,
  ) {
    super('ledger', port, env, suffix);
    this.signer = createSigner(options.origin, seed);
  }

  static async start(context: ChaosContext, name: string, options: LedgerOptions): Promise<LedgerUnderTest> {
    const port = await freePortInRange();
    const suffix = `${name}-${context.suffix}`;
    const seed = randomBytes(32);
    const env = chaosEnv(context, port, {
      DATABASE_URL: options.databaseUrl,
      KAFKA_GROUP_ID: `chaos-ledger-diag-${suffix}`,
      KAFKA_CLIENT_ID: `chaos-ledger-${suffix}`,
      LEDGER_GROUP_ID: `chaos-ledger-${suffix}`,
      LEDGER_TOPICS: options.topics.join(','),
      LEDGER_PRODUCER_KEYS: options.producerKeys.join(','),
      LEDGER_SIGNING_KEY: Buffer.from(seed).toString('base64'),
      LEDGER_ORIGIN: options.origin,
      KEYS_DIR: join(ROOT, '.data/chaos/keys', suffix),
      ...options.env,
    });
    const ledger = new LedgerUnderTest(port, options, seed, env, suffix);
    context.cleanups.push(() => ledger.stop());
    await ledger.launch();
    return ledger;
  }

  /** The ledger's own verifier key, to pin (the verifier's keyring, receipts). */
  get verifierKey(): string {
    return verifierKey(this.signer.name, this.signer.publicKey);
  }

  /** The latest checkpoint's tree size; 0 when empty or unreachable (killed). */
  async treeSize(): Promise<number> {
    try {
      const response = await fetch(`${this.baseUrl}/v1/checkpoint`);
      return response.ok ? Number((await response.text()).split('\n')[1]) : 0;
    } catch {
      return 0;
    }
  }

  /** Waits until the tree holds `size` leaves; fails when it stops growing for `stallMs`. */
  async waitForTreeSize(size: number, stallMs = 60_000): Promise<number> {
    let last = -1;
    let grewAt = Date.now();
    for (;;) {
      const now = await this.treeSize();
      if (now >= size) return now;
      if (now !== last) {
        last = now;
        grewAt = Date.now();
      } else if (Date.now() - grewAt > stallMs) {
        throw new Error(`the tree stopped at ${now} of ${size} for ${stallMs / 1000} s:\n${this.output()}`);
      }
      await sleep(50);
    }
  }

  /** Every leaf (index, event id, bytes), page by page. */
  async leaves(size: number): Promise<Array<{ index: number; eventId: string; leafData: string }>> {
    const all: Array<{ index: number; eventId: string; leafData: string }> = [];
    for (let start = 0; start < size; start += 1_000) {
      const page = await this.json<{ leaves: Array<{ index: number; eventId: string; leafData: string }> }>(
        `/v1/leaves?start=${start}&end=${Math.min(size, start + 1_000)}`,
      );
      all.push(...page.leaves);
    }
    return all;
  }

  async blocks(): Promise<LedgerBlock[]> {
    const all: LedgerBlock[] = [];
    for (;;) {
      const page = await this.json<{ blocks: LedgerBlock[] }>(`/v1/blocks?from=${all.length}&limit=1000`);
      all.push(...page.blocks);
      if (page.blocks.length < 1000) return all;
    }
  }
}

export interface LedgerBlock {
  height: number;
  firstLeafIndex: number;
  leafCount: number;
  treeSize: number;
}

// ------------------------------------------------------------------------------------------------ the verifier

interface VerifierCli {
  run(
    argv: readonly string[],
    io: { stdout: { write(text: string): unknown }; stderr: { write(text: string): unknown } },
  ): Promise<number>;
  USAGE: string;
}

let verifierCli: Promise<VerifierCli> | undefined;

/**
 * medledger-verify's own entry point (`run(argv, io)` of tools/verify/src/cli.ts) in this process: the same code
 * and verdicts as the CLI, without a Node start per run (a thousand tampering runs). Loaded by path since the
 * verifier is an application, not a library other projects import.
 */
export async function verify(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  verifierCli ??= import(join(ROOT, 'tools/verify/src/cli')) as Promise<VerifierCli>;
  const cli = await verifierCli;
  let stdout = '';
  let stderr = '';
  const code = await cli.run(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

/** Whether the verifier in this checkout has the option (e.g. `--deep`, added by another change). */
export async function verifierHasOption(option: string): Promise<boolean> {
  verifierCli ??= import(join(ROOT, 'tools/verify/src/cli')) as Promise<VerifierCli>;
  return (await verifierCli).USAGE.includes(option);
}

export function pass(ok: boolean): 'PASS' | 'FAIL' {
  return ok ? 'PASS' : 'FAIL';
}

/** `count` distinct random integers in [from, to), sorted. */
export function randomInstants(count: number, from: number, to: number): number[] {
  const picked = new Set<number>();
  while (picked.size < Math.min(count, to - from)) picked.add(from + Math.floor(Math.random() * (to - from)));
  return [...picked].sort((a, b) => a - b);
}

/**
 * What the service benchmarks share: options, percentiles, building a service only when its sources changed, and
 * running the built service as a child process (as in production) until it answers /health.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { Client } from 'pg';
import { DIAGNOSTICS_TOPIC, LEDGER_BLOCKS_TOPIC } from '@medledger/contracts';
import { ed25519PublicKeyFromSeed } from '@medledger/ledger-core';
import {
  createDatabaseFromTemplate,
  databaseUrl,
  dropDatabase,
  freePort,
  migrateServiceDatabase,
  startInfrastructure,
  type Infrastructure,
} from '@medledger/testing';

export const ROOT = resolve(__dirname, '../..');
const HEALTH_TIMEOUT_MS = 60_000;

export const say = (message: string) => process.stdout.write(`[bench] ${message}\n`);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const round = (value: number, digits = 1) => Number(value.toFixed(digits));

/** The commit measured, and whether tracked files differ from it (a figure from a dirty tree is not that commit's). */
export function gitCommit(): { commit: string; dirty: boolean } {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  try {
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no').length > 0 };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

/** The machine, for a bench's JSON line: cores, CPU model, memory. */
export function machineFacts() {
  return {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? '?',
    memGiB: round(totalmem() / 2 ** 30, 1),
    kernel: release(),
  };
}

/** The same, in one line of text. */
export function machine(): string {
  const { cpus: count, model, memGiB } = machineFacts();
  return `${count} × ${model}, ${memGiB} GiB`;
}

/** `--name N` / `--name=N` (positive numbers) and `--flag` from the command line. */
export function cliOptions(argv: readonly string[] = process.argv.slice(2)) {
  return {
    number(name: string, fallback: number): number {
      const at = argv.findIndex((arg) => arg === `--${name}` || arg.startsWith(`--${name}=`));
      if (at < 0) return fallback;
      const arg = argv[at] as string;
      const value = Number(arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[at + 1]);
      if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
      return value;
    },
    flag: (name: string) => argv.includes(`--${name}`),
  };
}

/** p50, p99 and max of latencies in ms (nearest-rank percentiles). */
export function summary(samples: readonly number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  return {
    count: sorted.length,
    p50: round(at(50), 2),
    p90: round(at(90), 2),
    p99: round(at(99), 2),
    max: round(sorted.at(-1) ?? NaN, 2),
  };
}

const SOURCES = ['libs/contracts/src', 'libs/event-store/src', 'libs/platform/src', 'libs/ledger-core/src'];

/** Whether `dist/apps/<app>/main.js` is missing or older than any source it is built from. */
export function buildIsStale(app: string): boolean {
  const output = join(ROOT, `dist/apps/${app}/main.js`);
  if (!existsSync(output)) return true;
  const built = statSync(output).mtimeMs;
  const newer = (dir: string): boolean =>
    existsSync(dir) &&
    readdirSync(dir, { withFileTypes: true }).some((entry) => {
      const path = join(dir, entry.name);
      return entry.isDirectory() ? newer(path) : statSync(path).mtimeMs > built;
    });
  return [`apps/${app}/src`, `apps/${app}/prisma`, ...SOURCES].map((dir) => join(ROOT, dir)).some(newer);
}

export async function nxBuild(app: string, databaseUrlForPrisma: string): Promise<void> {
  const child = spawn(join(ROOT, 'node_modules/.bin/nx'), ['build', app, '--outputStyle=stream'], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, DATABASE_URL: databaseUrlForPrisma },
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`nx build ${app} exited with ${code}`);
}

export interface ServiceProcess {
  child: ChildProcess;
  baseUrl: string;
  /** The last 20 kB it printed. */
  output: () => string;
}

/** Runs `dist/apps/<app>/main.js` on a free port and waits for /health; `cpuProfile` runs it under --cpu-prof. */
export async function startBuiltService(
  app: string,
  env: Record<string, string>,
  options: { cpuProfile?: boolean } = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  const profile = options.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${join(ROOT, '.data/bench')}`] : [];
  // BENCH_NODE_FLAGS (e.g. `--trace-gc`) are passed to the service's node, for diagnosis.
  const extra = (process.env['BENCH_NODE_FLAGS'] ?? '').split(/\s+/).filter(Boolean);
  // The whole log goes straight to .data/bench/<app>-<port>.log, as a container's stdout goes to its log driver:
  // piped through this process, the service's synchronous log writes waited whenever the load generator's own
  // event loop was slow to read the pipe (a full 64 kB pipe is about a hundred request lines), a stall of the
  // service that the bench then measured as its latency.
  mkdirSync(join(ROOT, '.data/bench'), { recursive: true });
  const logPath = join(ROOT, `.data/bench/${app}-${port}.log`);
  const log = openSync(logPath, 'a');
  const child = spawn(process.execPath, [...profile, ...extra, join(ROOT, `dist/apps/${app}/main.js`)], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  // The last 20 kB of the log, for error reports.
  const output = () => {
    const text = readFileSync(logPath, 'utf8');
    return text.slice(-20_000);
  };
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${app} exited with ${child.exitCode}:\n${output()}`);
    try {
      if ((await fetch(`${baseUrl}/health`)).ok) return { child, baseUrl, output };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${app} did not become healthy:\n${output()}`);
    await sleep(200);
  }
}

export async function stopService(service: ServiceProcess | undefined): Promise<void> {
  if (!service || service.child.exitCode !== null) return;
  service.child.kill('SIGTERM');
  await once(service.child, 'exit');
}

/** Runs a bench's main: exit 0, or print the error and exit 1. */
export function run(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}

/** Committed offsets of `groupId` summed over the partitions of `topics`, and the topics' end offsets. */
export async function groupProgress(admin: Admin, groupId: string, topics: readonly string[]) {
  const [committed, ends] = await Promise.all([
    admin.fetchOffsets({ groupId, topics: [...topics] }),
    Promise.all(topics.map((topic) => admin.fetchTopicOffsets(topic))),
  ]);
  const sum = (offsets: Array<{ offset: string }>) =>
    offsets.reduce((total, { offset }) => total + Math.max(0, Number(offset)), 0);
  return { committed: committed.reduce((t, { partitions }) => t + sum(partitions), 0), end: sum(ends.flat()) };
}

/**
 * Commits `groupId`'s offsets at the end of `topics` (those that exist), so that a service started with a fresh
 * consumer group is one that has caught up: it does not replay the ledger's whole history of blocks (on a machine
 * where earlier benches and tests ran, hundreds of ledger.BlockSealed of up to 2,000 event ids each) while it is
 * measured. A service in production keeps its group and so its offsets.
 */
export async function startCaughtUp(brokers: string[], groupId: string, topics: readonly string[]): Promise<void> {
  const admin = new Kafka({ clientId: 'bench-offsets', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    for (const topic of topics.filter((t) => existing.has(t))) {
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({
        groupId,
        topic,
        partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })),
      });
    }
  } finally {
    await admin.disconnect();
  }
}

/** A records service on a fresh database of its own, for a benchmark ({@link withRecordsService}). */
export interface RecordsBench {
  suffix: string;
  /** A database URL with the right to create databases (the bench's own come from it). */
  adminUrl: string;
  /** The bench database. */
  databaseUrl: string;
  /** The service's public topic. */
  topic: string;
  brokers: string[];
  /** The running service (replaced by {@link RecordsBench.restart}). */
  records: ServiceProcess;
  /** Runs `stop` when the bench ends, after the service has stopped, whatever happens. */
  onEnd(stop: () => Promise<unknown>): void;
  /** Stops the service, runs `between` (if any), and starts it again with the same configuration. */
  restart(between?: () => Promise<void>): Promise<void>;
}

/**
 * Runs `body` against a built records service (built first when stale) on a fresh, migrated database, with its
 * own public topic (the shared records topic stays clean for tests and the ledger), trusting `authSeed`'s tokens.
 * Stops the service, drops the database (unless --keep) and stops what it started, whatever happens.
 */
export async function withRecordsService(
  name: string,
  authSeed: Uint8Array,
  options: ReturnType<typeof cliOptions>,
  body: (bench: RecordsBench) => Promise<void>,
): Promise<void> {
  return withServiceProcess(
    'records',
    name,
    authSeed,
    options,
    { RECORDS_MASTER_KEY: randomBytes(32).toString('base64') },
    body,
  );
}

/** {@link withRecordsService} for any event-sourced service (`app`), with `extraEnv` besides the common settings. */
export async function withServiceProcess(
  app: 'records' | 'trials' | 'supply',
  name: string,
  authSeed: Uint8Array,
  options: ReturnType<typeof cliOptions>,
  extraEnv: Record<string, string>,
  body: (bench: RecordsBench) => Promise<void>,
): Promise<void> {
  const suffix = randomBytes(4).toString('hex');
  let infrastructure: Infrastructure | undefined;
  let records: ServiceProcess | undefined;
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    infrastructure = await startInfrastructure({ rootDir: ROOT, log: say });
    if (options.flag('build') || (!options.flag('no-build') && buildIsStale(app))) {
      say(`building ${app} (nx build ${app})...`);
      await nxBuild(app, process.env['DATABASE_URL'] ?? infrastructure.postgresUrl);
    }
    const adminUrl = infrastructure.postgresUrl;
    const database = `medledger_${app}_${name}_${suffix}`;
    await createDatabaseFromTemplate(adminUrl, 'template0', database);
    if (!options.flag('keep')) cleanups.push(() => dropDatabase(adminUrl, database));
    const url = databaseUrl(adminUrl, database);
    say(`database ${database}: migrating...`);
    await migrateServiceDatabase(ROOT, app, url);
    const env = {
      NODE_ENV: 'development',
      DATABASE_URL: url,
      KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','),
      KAFKA_GROUP_ID: `${app}-${name}-${suffix}`,
      KAFKA_CLIENT_ID: `${app}-${name}-${suffix}`,
      EVENT_SIGNING_KEY: randomBytes(32).toString('base64'),
      LEDGER_URL: 'http://127.0.0.1:9',
      PUBLIC_EVENTS_TOPIC: `bench.${suffix}.${app}.events`,
      // BENCH_LOG_LEVEL=info logs every request with its responseTime (pino-http) into the service's log file.
      LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'warn',
      AUTH_PUBLIC_KEYS: Buffer.from(ed25519PublicKeyFromSeed(authSeed)).toString('base64'),
      ...extraEnv,
    };
    await startCaughtUp(infrastructure.kafkaBrokers, env.KAFKA_GROUP_ID, [LEDGER_BLOCKS_TOPIC, DIAGNOSTICS_TOPIC]);
    const start = () => startBuiltService(app, env, { cpuProfile: options.flag('cpu-prof') });
    records = await start();
    const bench: RecordsBench = {
      suffix,
      adminUrl,
      databaseUrl: url,
      topic: env.PUBLIC_EVENTS_TOPIC,
      brokers: infrastructure.kafkaBrokers,
      records,
      onEnd: (stop) => void cleanups.unshift(stop),
      async restart(between) {
        await stopService(records);
        await between?.();
        records = bench.records = await start();
      },
    };
    await body(bench);
  } catch (error) {
    if (records) process.stderr.write(`--- ${app} output ---\n${records.output()}\n`);
    throw error;
  } finally {
    await stopService(records);
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    await infrastructure?.stop?.();
  }
}

/** PostgreSQL's durability settings and version; refuses a run in which an acknowledged commit could be lost. */
export async function durability(adminUrl: string) {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const show = async (name: string) =>
      (await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0]?.[name] ?? '?';
    const settings = {
      version: await show('server_version'),
      fsync: await show('fsync'),
      synchronous_commit: await show('synchronous_commit'),
      full_page_writes: await show('full_page_writes'),
    };
    if (settings.fsync !== 'on' || settings.synchronous_commit === 'off')
      throw new Error(
        `PostgreSQL runs with fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit}: ` +
          'a commit could be lost, so this run will not report figures. Turn both on.',
      );
    return settings;
  } finally {
    await client.end();
  }
}

export function kafkaVersion(): string {
  const pom = readFileSync(join(ROOT, 'tools/kafka/pom.xml'), 'utf8');
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1] ?? 'unknown';
  return process.env['KAFKA_BROKERS']
    ? `external (${process.env['KAFKA_BROKERS']}); the local broker is ${version}`
    : version;
}

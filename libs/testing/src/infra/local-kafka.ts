/**
 * A real, single-node Apache Kafka broker (KRaft: broker + controller in one JVM) for local
 * development and integration tests, started without Docker.
 *
 * The broker's jars come from Maven Central through tools/kafka/pom.xml (resolved into ~/.m2 by
 * `mvn dependency:build-classpath`, never copied), and the broker runs as a detached
 * `java -cp <classpath> kafka.Kafka <dataDir>/server.properties` that outlives the Node process
 * that started it, so several test runs can share one broker. Everything it writes lives under
 * `dataDir` (default `<repo>/.data/kafka`):
 *
 *   classpath-<hash>.txt   resolved classpath, keyed by a hash of pom.xml (second run skips mvn)
 *   server.properties      broker config, rewritten on every fresh start
 *   log4j2.properties      broker logging config (everything goes to stdout, i.e. broker.log)
 *   broker.log             JVM stdout/stderr of the current broker (previous run: broker.log.1)
 *   kafka.pid              pid of the running broker
 *   start.lock             held while a start is in progress (serialises concurrent starters)
 *   logs/                  Kafka log.dirs (topic data + KRaft metadata log, meta.properties)
 *
 * Environment: KAFKA_PORT (default port), JAVA_HOME (preferred java), LOCAL_KAFKA_JVM_OPTS (extra
 * broker JVM options, appended last).
 *
 * Client compatibility: Kafka 4.x removed protocol versions older than Kafka 2.1 (KIP-896).
 * kafkajs 2.2.4 negotiates newer versions for every API it uses; verified against the Kafka
 * version pinned in tools/kafka/pom.xml (see tools/kafka/README.md for versions and timings).
 *
 * Only Node built-ins and kafkajs are used.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';

export interface LocalKafkaOptions {
  /** Repository root: tools/kafka/pom.xml is resolved against it. */
  rootDir: string;
  /** Where config, logs, pid file and topic data live. Default `<rootDir>/.data/kafka`. */
  dataDir?: string | undefined;
  /** PLAINTEXT listener port on 127.0.0.1. Default: env KAFKA_PORT, else 9092. */
  port?: number | undefined;
  /** KRaft CONTROLLER listener port on 127.0.0.1. Default: port + 1. */
  controllerPort?: number | undefined;
  /** Broker JVM max heap (-Xmx) in MiB. Default 512. */
  heapMb?: number | undefined;
  /** Progress messages. Default: silent. */
  log?: ((msg: string) => void) | undefined;
}

export interface LocalKafkaHandle {
  /** Bootstrap servers for clients, e.g. `['127.0.0.1:9092']`. */
  brokers: string[];
  /** Pid of the broker JVM. */
  pid: number;
  /** False when an already running broker (same dataDir) was reused. */
  startedByUs: boolean;
  /** Stops the broker (SIGTERM, SIGKILL after ~20 s) and removes the pid file. */
  stop(): Promise<void>;
}

const DEFAULT_PORT = 9092;
const DEFAULT_HEAP_MB = 512;
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
/** Main class name, used to recognise our broker in a process command line. */
const KAFKA_MAIN = 'kafka.Kafka';
/** Kafka 4.x needs Java 17+ for the broker. */
const MIN_JAVA_MAJOR = 17;

interface Resolved {
  rootDir: string;
  dataDir: string;
  port: number;
  controllerPort: number;
  heapMb: number;
  log: (msg: string) => void;
  pomFile: string;
  pidFile: string;
  lockFile: string;
  logFile: string;
  propsFile: string;
  log4jFile: string;
  kafkaLogDir: string;
  brokers: string[];
}

function resolveOptions(opts: LocalKafkaOptions): Resolved {
  const rootDir = path.resolve(opts.rootDir);
  const dataDir = path.resolve(opts.dataDir ?? path.join(rootDir, '.data', 'kafka'));
  const port = opts.port ?? parsePort(process.env['KAFKA_PORT'], 'KAFKA_PORT') ?? DEFAULT_PORT;
  const controllerPort = opts.controllerPort ?? port + 1;
  const heapMb = opts.heapMb ?? DEFAULT_HEAP_MB;
  for (const [name, value] of [
    ['port', port],
    ['controllerPort', controllerPort],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 65535) {
      throw new Error(`local-kafka: invalid ${name} ${value}`);
    }
  }
  if (port === controllerPort) {
    throw new Error(`local-kafka: port and controllerPort must differ (both ${port})`);
  }
  if (!Number.isInteger(heapMb) || heapMb < 128) {
    throw new Error(`local-kafka: heapMb must be an integer >= 128 (got ${heapMb})`);
  }
  return {
    rootDir,
    dataDir,
    port,
    controllerPort,
    heapMb,
    log: opts.log ?? (() => undefined),
    pomFile: path.join(rootDir, 'tools', 'kafka', 'pom.xml'),
    pidFile: path.join(dataDir, 'kafka.pid'),
    lockFile: path.join(dataDir, 'start.lock'),
    logFile: path.join(dataDir, 'broker.log'),
    propsFile: path.join(dataDir, 'server.properties'),
    log4jFile: path.join(dataDir, 'log4j2.properties'),
    kafkaLogDir: path.join(dataDir, 'logs'),
    brokers: [`127.0.0.1:${port}`],
  };
}

function parsePort(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new Error(`local-kafka: ${name}=${raw} is not a valid port`);
  }
  return n;
}

/**
 * Starts the broker, or reuses the one already running from the same dataDir.
 * Resolves once a kafkajs metadata request succeeds.
 */
export async function startLocalKafka(opts: LocalKafkaOptions): Promise<LocalKafkaHandle> {
  const r = resolveOptions(opts);
  fs.mkdirSync(r.dataDir, { recursive: true });

  // Serialises concurrent starters (e.g. two test processes) on the same dataDir, so only one
  // of them formats the storage and spawns a JVM; the others wait and then reuse that broker.
  const release = await acquireLock(r.lockFile, READY_TIMEOUT_MS + 30_000, r.log);
  try {
    const existing = readPid(r.pidFile);
    if (existing !== undefined) {
      if (isOurBroker(existing, r.propsFile)) {
        const runningPort = readConfiguredPort(r.propsFile);
        if (runningPort !== undefined && runningPort !== r.port) {
          throw new Error(
            `local-kafka: the broker of ${r.dataDir} (pid ${existing}) listens on port ${runningPort}, ` +
              `but port ${r.port} was requested; stop it first (stopLocalKafka) or use another dataDir`,
          );
        }
        r.log(`reusing running broker pid ${existing} on ${r.brokers.join(',')}`);
        try {
          await waitForKafka(r.brokers, READY_TIMEOUT_MS);
        } catch (err) {
          throw new Error(
            `local-kafka: broker pid ${existing} (from ${r.pidFile}) is running but does not answer ` +
              `on ${r.brokers.join(',')}: ${errorMessage(err)}\n` +
              `Stop it with stopLocalKafka() or \`kill ${existing}\`.\n--- tail of ${r.logFile} ---\n${tail(r.logFile)}`,
          );
        }
        return makeHandle(r, existing, false);
      }
      // Process gone (or the pid was recycled by something else): forget it.
      r.log(`removing stale pid file (pid ${existing} is not a running broker)`);
      fs.rmSync(r.pidFile, { force: true });
    }

    await assertPortFree(r.port, 'port', r.dataDir);
    await assertPortFree(r.controllerPort, 'controllerPort', r.dataDir);

    const java = javaCommand();
    assertTools(java, r);
    assertJavaVersion(java);

    const t0 = Date.now();
    const classpath = resolveClasspath(r);
    writeConfigFiles(r);
    formatStorageIfNeeded(java, classpath, r);
    const pid = spawnBroker(java, classpath, r);
    r.log(`broker pid ${pid} spawned, waiting for ${r.brokers.join(',')} (log: ${r.logFile})`);
    await waitForStartedBroker(pid, r);
    r.log(`broker ready in ${Date.now() - t0} ms`);
    return makeHandle(r, pid, true);
  } finally {
    release();
  }
}

/** Stops the broker recorded in `<dataDir>/kafka.pid`, if any. Never needs java or mvn. */
export async function stopLocalKafka(opts: LocalKafkaOptions): Promise<void> {
  const r = resolveOptions(opts);
  const pid = readPid(r.pidFile);
  if (pid === undefined) return;
  if (isOurBroker(pid, r.propsFile)) {
    await killAndWait(pid, r.log);
  } else {
    r.log(`pid ${pid} is not a running broker; removing stale pid file`);
  }
  // Only remove the file if it still names the process we stopped (a new start may have raced us).
  if (readPid(r.pidFile) === pid) fs.rmSync(r.pidFile, { force: true });
}

/**
 * Resolves once a kafkajs admin metadata request (describeCluster) against `brokers` succeeds
 * and reports at least one broker; rejects after `timeoutMs` with the last error seen.
 */
export async function waitForKafka(brokers: string[], timeoutMs: number): Promise<void> {
  await pollKafka(brokers, timeoutMs, () => undefined);
}

// ---------------------------------------------------------------------------------------------
// Readiness

async function pollKafka(brokers: string[], timeoutMs: number, check: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no attempt made';
  for (;;) {
    const abortReason = check();
    if (abortReason !== undefined) throw new Error(abortReason);
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new Error(`Kafka at ${brokers.join(',')} not ready after ${timeoutMs} ms: ${lastError}`);
    }
    try {
      await probeOnce(brokers, Math.min(remaining, 5_000));
      return;
    } catch (err) {
      lastError = errorMessage(err);
    }
    await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
  }
}

async function probeOnce(brokers: string[], timeoutMs: number): Promise<void> {
  const kafka = new Kafka({
    clientId: 'local-kafka-probe',
    brokers,
    // The probe fails by design while the broker boots; kafkajs would log every failed attempt.
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(1_000, timeoutMs),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  let timer: NodeJS.Timeout | undefined;
  try {
    const attempt = (async () => {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length === 0) throw new Error('metadata lists no brokers yet');
    })();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`probe timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    attempt.catch(() => undefined); // the loser of the race must not become an unhandled rejection
    await Promise.race([attempt, timeout]);
  } finally {
    if (timer) clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
}

/** Like waitForKafka, but fails fast (with the log tail) if the freshly spawned JVM dies. */
async function waitForStartedBroker(pid: number, r: Resolved): Promise<void> {
  try {
    await pollKafka(r.brokers, READY_TIMEOUT_MS, () =>
      isAlive(pid) ? undefined : `broker process ${pid} exited during startup`,
    );
  } catch (err) {
    if (isAlive(pid)) await killAndWait(pid, r.log);
    fs.rmSync(r.pidFile, { force: true });
    throw new Error(
      `local-kafka: broker failed to start: ${errorMessage(err)}\n` +
        `--- tail of ${r.logFile} ---\n${tail(r.logFile)}`,
    );
  }
}

function makeHandle(r: Resolved, pid: number, startedByUs: boolean): LocalKafkaHandle {
  return {
    brokers: [...r.brokers],
    pid,
    startedByUs,
    async stop() {
      if (isAlive(pid)) await killAndWait(pid, r.log);
      if (readPid(r.pidFile) === pid) fs.rmSync(r.pidFile, { force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Tools and classpath

function javaCommand(): string {
  // Prefer JAVA_HOME (what Maven uses too), so broker and mvn agree on the JDK.
  const home = process.env['JAVA_HOME'];
  if (home) {
    const candidate = path.join(home, 'bin', process.platform === 'win32' ? 'java.exe' : 'java');
    if (fs.existsSync(candidate)) return candidate;
  }
  return 'java';
}

function mvnCommand(): string {
  return process.platform === 'win32' ? 'mvn.cmd' : 'mvn';
}

function findOnPath(cmd: string): boolean {
  if (cmd.includes(path.sep)) return isExecutable(cmd);
  const exts = process.platform === 'win32' ? ['', '.exe', '.cmd', '.bat'] : [''];
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      if (isExecutable(path.join(dir, cmd + ext))) return true;
    }
  }
  return false;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function assertTools(java: string, r: Resolved): void {
  const missing: string[] = [];
  if (!findOnPath(java)) missing.push(`\`java\` (JDK ${MIN_JAVA_MAJOR}+; set JAVA_HOME or add it to PATH)`);
  // mvn is only needed when the classpath is not cached yet.
  if (cachedClasspath(r) === undefined && !findOnPath(mvnCommand())) {
    missing.push('`mvn` (Apache Maven 3.6+, used to fetch the Kafka jars)');
  }
  if (missing.length > 0) {
    throw new Error(`local-kafka: cannot start Kafka, missing on PATH: ${missing.join(' and ')}`);
  }
}

function assertJavaVersion(java: string): void {
  const res = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const out = `${res.stderr ?? ''}${res.stdout ?? ''}`;
  // `java -version` prints e.g. `openjdk version "17.0.15"` or `java version "1.8.0_392"`.
  const m = /version "(\d+)(?:\.(\d+))?/.exec(out);
  if (res.error || !m) {
    throw new Error(`local-kafka: could not run \`${java} -version\`: ${res.error?.message ?? out.trim()}`);
  }
  const major = m[1] === '1' ? Number(m[2]) : Number(m[1]);
  if (major < MIN_JAVA_MAJOR) {
    throw new Error(`local-kafka: Kafka needs Java ${MIN_JAVA_MAJOR}+, but \`${java}\` is Java ${major}`);
  }
}

function classpathCacheFile(r: Resolved): string {
  if (!fs.existsSync(r.pomFile)) throw new Error(`local-kafka: ${r.pomFile} not found (is rootDir right?)`);
  const hash = createHash('sha256').update(fs.readFileSync(r.pomFile)).digest('hex').slice(0, 16);
  return path.join(r.dataDir, `classpath-${hash}.txt`);
}

/** The cached classpath, if present and every jar in it still exists (~/.m2 may have been wiped). */
function cachedClasspath(r: Resolved): string | undefined {
  const file = classpathCacheFile(r);
  if (!fs.existsSync(file)) return undefined;
  const cp = fs.readFileSync(file, 'utf8').trim();
  if (cp === '' || !cp.split(path.delimiter).every((jar) => fs.existsSync(jar))) return undefined;
  return cp;
}

function resolveClasspath(r: Resolved): string {
  const cached = cachedClasspath(r);
  if (cached !== undefined) return cached;
  const file = classpathCacheFile(r);
  const tmp = `${file}.${process.pid}.tmp`;
  r.log(`resolving Kafka classpath with Maven (${path.relative(r.rootDir, r.pomFile)})`);
  const t0 = Date.now();
  const res = spawnSync(
    mvnCommand(),
    ['-q', '-B', '-f', r.pomFile, 'dependency:build-classpath', `-Dmdep.outputFile=${tmp}`],
    {
      cwd: r.rootDir,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      shell: process.platform === 'win32',
    },
  );
  if (res.error || res.status !== 0 || !fs.existsSync(tmp)) {
    fs.rmSync(tmp, { force: true });
    const output = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(
      `local-kafka: \`mvn dependency:build-classpath\` failed (${res.error?.message ?? `exit ${res.status}`}):\n${output}`,
    );
  }
  fs.renameSync(tmp, file); // atomic, so a concurrent reader never sees a half-written file
  // Drop caches of older pom.xml versions.
  for (const f of fs.readdirSync(r.dataDir)) {
    if (/^classpath-[0-9a-f]{16}\.txt$/.test(f) && path.join(r.dataDir, f) !== file) {
      fs.rmSync(path.join(r.dataDir, f), { force: true });
    }
  }
  r.log(`classpath resolved in ${Date.now() - t0} ms`);
  return fs.readFileSync(file, 'utf8').trim();
}

// ---------------------------------------------------------------------------------------------
// Config, storage format and process

function writeConfigFiles(r: Resolved): void {
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    // Static quorum (kraft.version 0) rather than 4.x's dynamic `controller.quorum.bootstrap.servers`
    // + `format --standalone`: a dynamic quorum records the controller endpoint in the metadata
    // log at format time, so changing controllerPort later would break an existing dataDir.
    // With static voters the endpoint always comes from this file.
    'controller.quorum.voters': `1@127.0.0.1:${r.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${r.port},CONTROLLER://127.0.0.1:${r.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${r.port}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': r.kafkaLogDir,
    'num.partitions': 1,
    'auto.create.topics.enable': true,
    'delete.topic.enable': true,
    // Single broker: every internal topic must have replication factor 1 / min ISR 1.
    'offsets.topic.replication.factor': 1,
    // The default (50) makes the very first consumer-group join on a fresh dataDir create and load
    // 50 partitions; a handful is plenty for one broker.
    'offsets.topic.num.partitions': 5,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 5,
    // Share groups (KIP-932, 4.x) keep state in __share_group_state, replication factor 3 by default.
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // Tests create fresh groups all the time; the default 3 s delay would slow every first join.
    'group.initial.rebalance.delay.ms': 0,
    // After an unclean exit (kill -9) the restarted broker cannot re-register until the controller
    // fences its previous incarnation, i.e. until the session times out (default 9 s, which made a
    // restart after kill -9 take ~12 s instead of ~2 s). Broker and controller share one JVM here,
    // so a shorter session is safe.
    'broker.heartbeat.interval.ms': 1000,
    'broker.session.timeout.ms': 4000,
  };
  const body =
    '# Generated by libs/testing/src/infra/local-kafka.ts on every fresh start; edits are overwritten.\n' +
    Object.entries(props)
      .map(([k, v]) => `${k}=${escapeProp(String(v))}`)
      .join('\n') +
    '\n';
  fs.writeFileSync(r.propsFile, body);

  // Everything to stdout, which spawnBroker sends to broker.log. Broker INFO is useful when a test
  // misbehaves; the per-request and per-partition chatter is not.
  fs.writeFileSync(
    r.log4jFile,
    [
      '# Generated by libs/testing/src/infra/local-kafka.ts; edits are overwritten.',
      'status = warn',
      'name = local-kafka',
      'appender.out.type = Console',
      'appender.out.name = STDOUT',
      'appender.out.layout.type = PatternLayout',
      'appender.out.layout.pattern = [%d] %p %m (%c)%n',
      'rootLogger.level = INFO',
      'rootLogger.appenderRef.out.ref = STDOUT',
      'logger.request.name = kafka.request.logger',
      'logger.request.level = WARN',
      'logger.statechange.name = state.change.logger',
      'logger.statechange.level = WARN',
      'logger.storage.name = org.apache.kafka.storage.internals',
      'logger.storage.level = WARN',
      'logger.kafkalog.name = kafka.log',
      'logger.kafkalog.level = WARN',
      'logger.clients.name = org.apache.kafka.clients',
      'logger.clients.level = WARN',
      // KafkaConfig dumps ~250 lines of config values several times per start; server.properties has them.
      'logger.config.name = org.apache.kafka.common.config.AbstractConfig',
      'logger.config.level = WARN',
      '',
    ].join('\n'),
  );
}

/** java.util.Properties escaping for values (paths may contain backslashes on Windows). */
function escapeProp(v: string): string {
  return v.replace(/\\/g, '\\\\');
}

function jvmLogArgs(r: Resolved): string[] {
  return [`-Dlog4j2.configurationFile=${r.log4jFile}`, '-Djava.awt.headless=true'];
}

/** Extra JVM options from env LOCAL_KAFKA_JVM_OPTS (whitespace separated), appended last. */
function extraJvmOpts(): string[] {
  return (process.env['LOCAL_KAFKA_JVM_OPTS'] ?? '').split(/\s+/).filter((a) => a !== '');
}

function formatStorageIfNeeded(java: string, classpath: string, r: Resolved): void {
  if (fs.existsSync(path.join(r.kafkaLogDir, 'meta.properties'))) return;
  const clusterId = newClusterId();
  r.log(`formatting KRaft storage in ${r.kafkaLogDir} (cluster id ${clusterId})`);
  const t0 = Date.now();
  const res = spawnSync(
    java,
    [
      '-XX:TieredStopAtLevel=1', // short-lived JVM: C2 would only cost startup time
      ...jvmLogArgs(r),
      '-cp',
      classpath,
      'kafka.tools.StorageTool',
      'format',
      '--cluster-id',
      clusterId,
      '--config',
      r.propsFile,
      '--ignore-formatted',
    ],
    { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  const output = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim();
  if (res.error || res.status !== 0) {
    throw new Error(`local-kafka: storage format failed (${res.error?.message ?? `exit ${res.status}`}):\n${output}`);
  }
  r.log(`formatted in ${Date.now() - t0} ms: ${output.split('\n').slice(-1)[0] ?? ''}`);
}

/** A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (22 chars). */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    // Kafka's Uuid.randomUuid() avoids ids starting with '-' (they look like CLI flags).
    if (!id.startsWith('-')) return id;
  }
}

function spawnBroker(java: string, classpath: string, r: Resolved): number {
  // Keep the previous run's log for post-mortems, start this run's log empty.
  if (fs.existsSync(r.logFile)) fs.renameSync(r.logFile, `${r.logFile}.1`);
  const out = fs.openSync(r.logFile, 'a');
  try {
    const child = spawn(
      java,
      [
        `-Xmx${r.heapMb}m`,
        `-Xms${Math.min(r.heapMb, 128)}m`,
        // Tuned for a small dev/test broker on a 2-core box, unlike kafka-server-start.sh (G1, C2):
        // C1 only starts the broker ~1 s faster (3.1 s -> 2.1 s measured) and SerialGC uses fewer
        // threads and a little less memory. Steady-state throughput is lower; for a benchmark pass
        // LOCAL_KAFKA_JVM_OPTS='-XX:TieredStopAtLevel=4' (later flags win).
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        ...jvmLogArgs(r),
        ...extraJvmOpts(),
        '-cp',
        classpath,
        KAFKA_MAIN,
        r.propsFile,
      ],
      // detached: own process group, so Ctrl-C in a test runner does not kill the shared broker.
      { cwd: r.dataDir, detached: true, stdio: ['ignore', out, out] },
    );
    // Spawn failures are also emitted as 'error'; without a listener that would crash the process.
    child.on('error', () => undefined);
    if (child.pid === undefined) throw new Error(`local-kafka: failed to spawn ${java}`);
    child.unref();
    fs.writeFileSync(r.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    fs.closeSync(out);
  }
}

async function killAndWait(pid: number, log: (msg: string) => void): Promise<void> {
  log(`stopping broker pid ${pid}`);
  const t0 = Date.now();
  signal(pid, 'SIGTERM');
  while (isAlive(pid) && Date.now() - t0 < STOP_TIMEOUT_MS) await sleep(100);
  if (isAlive(pid)) {
    log(`broker pid ${pid} still alive after ${STOP_TIMEOUT_MS} ms, sending SIGKILL`);
    signal(pid, 'SIGKILL');
    const t1 = Date.now();
    while (isAlive(pid) && Date.now() - t1 < 5_000) await sleep(100);
    if (isAlive(pid)) throw new Error(`local-kafka: broker pid ${pid} survived SIGKILL`);
  }
  log(`broker pid ${pid} stopped in ${Date.now() - t0} ms`);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Process and port inspection

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped by its parent) still answers kill(0) but is dead.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): trust kill(0)
  }
}

/** True if `pid` is alive and is a `kafka.Kafka` JVM running our server.properties. */
function isOurBroker(pid: number, propsFile: string): boolean {
  if (!isAlive(pid)) return false;
  let cmdline: string;
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    const ps = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], {
      encoding: 'utf8',
    });
    if (ps.status !== 0) return false;
    cmdline = ps.stdout;
  }
  return cmdline.includes(` ${KAFKA_MAIN} `) && cmdline.includes(propsFile);
}

function readConfiguredPort(propsFile: string): number | undefined {
  try {
    const m = /^listeners=PLAINTEXT:\/\/[^:]+:(\d+)/m.exec(fs.readFileSync(propsFile, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Fails if `port` on 127.0.0.1 cannot be bound (the broker binds exactly that address). */
async function assertPortFree(port: number, name: string, dataDir: string): Promise<void> {
  const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(undefined)));
  });
  if (!err) return;
  if (err.code === 'EADDRINUSE') {
    throw new Error(
      `local-kafka: 127.0.0.1:${port} (${name}) is already in use by another process that is not ` +
        `the broker of ${dataDir} (maybe a Kafka from Docker or another checkout). ` +
        `Stop it, or choose other ports (option ${name} / env KAFKA_PORT).`,
    );
  }
  throw new Error(`local-kafka: cannot bind 127.0.0.1:${port} (${name}): ${err.message}`);
}

/** Serialises starts within this process (the file lock below serialises across processes). */
const inProcessLocks = new Map<string, Promise<unknown>>();

/**
 * A tiny cross-process lock: a file created with O_EXCL holding the owner's pid. A lock whose
 * owner process is dead is taken over. Returns the release function.
 */
async function acquireLock(file: string, timeoutMs: number, log: (msg: string) => void): Promise<() => void> {
  // Same-process callers queue on a promise chain first, so the file lock never sees two
  // holders with the same pid and a lock file carrying our own pid can only be a leftover.
  const previous = inProcessLocks.get(file) ?? Promise.resolve();
  let releaseInProcess!: () => void;
  const mine = new Promise<void>((resolve) => (releaseInProcess = resolve));
  const chained = previous.then(() => mine);
  inProcessLocks.set(file, chained);
  await previous;
  const releaseAll = (): void => {
    if (readPid(file) === process.pid) fs.rmSync(file, { force: true });
    releaseInProcess();
    if (inProcessLocks.get(file) === chained) inProcessLocks.delete(file);
  };

  try {
    await acquireFileLock(file, timeoutMs, log);
  } catch (err) {
    releaseInProcess();
    if (inProcessLocks.get(file) === chained) inProcessLocks.delete(file);
    throw err;
  }
  return releaseAll;
}

async function acquireFileLock(file: string, timeoutMs: number, log: (msg: string) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readPid(file);
    if (owner === undefined) {
      // Empty: its owner is between create and write, or died right there. Give it a moment.
      if (ageMs(file) > 5_000) fs.rmSync(file, { force: true });
      else await sleep(50);
      continue;
    }
    if (owner === process.pid || !isAlive(owner)) {
      // Left behind by a process that died mid-start. Only clear it if it still holds that pid.
      log(`removing stale start lock of pid ${owner}`);
      if (readPid(file) === owner) fs.rmSync(file, { force: true });
      continue;
    }
    if (!announced) {
      log(`waiting for another start (pid ${owner}) to finish`);
      announced = true;
    }
    if (Date.now() > deadline) {
      throw new Error(`local-kafka: timed out waiting for ${file} held by pid ${owner}`);
    }
    await sleep(200);
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Last `lines` lines of `file` (reads at most its last 64 KiB: broker.log can grow large). */
function tail(file: string, lines = 40): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(length);
    fs.readSync(fd, buf, 0, length, size - length);
    return buf.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

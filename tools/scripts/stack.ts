/**
 * `npm start`: the whole network on this machine, no Docker needed.
 * Infrastructure (Kafka + PostgreSQL, see libs/testing startInfrastructure), per-service databases and
 * migrations, a build, the four services as child processes (logs in .data/logs/), a wait for every /health,
 * then the demo. Stays up until Ctrl-C, which stops everything it started.
 *   --no-demo        do not run the demo
 *   --exit           stop after the demo (exit code = the demo's); used by CI to prove this command works
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  databaseUrl,
  ensureDatabases,
  migrateServiceDatabase,
  startInfrastructure,
  type Infrastructure,
} from '@medledger/testing';
import { runDemo } from './demo';
import { devLedgerVerifierKey, devProducerKeyring, writeVerifierKeyrings } from './dev-keys';
import { bin, ROOT, runOrFail, say } from './lib';

const SERVICES = [
  { name: 'ledger', port: 3100 },
  { name: 'records', port: 3101 },
  { name: 'trials', port: 3102 },
  { name: 'supply', port: 3103 },
] as const;

/** First boot connects to Kafka and PostgreSQL and creates topics; on 2 cores this takes a few seconds. */
const HEALTH_TIMEOUT_MS = 90_000;
const CHILD_STOP_TIMEOUT_MS = 15_000;

const children: ChildProcess[] = [];
let infrastructure: Infrastructure | undefined;
let shuttingDown = false;

async function waitForHealth(name: string, url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}; see .data/logs/${name}.log`);
    try {
      const response = await fetch(`${url}/health`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${name} not healthy after ${HEALTH_TIMEOUT_MS} ms; see .data/logs/${name}.log`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function shutdown(code: number): Promise<never> {
  if (!shuttingDown) {
    shuttingDown = true;
    say('stopping services...');
    await Promise.all(children.map(stopChild));
    await infrastructure?.stop();
    say('stopped');
  }
  process.exit(code);
}

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void shutdown(0));

  infrastructure = await startInfrastructure({ rootDir: ROOT, log: say });
  const brokers = infrastructure.kafkaBrokers.join(',');
  const postgresUrl = infrastructure.postgresUrl;

  say('creating and migrating the service databases...');
  const databases = SERVICES.map((s) => `medledger_${s.name}`);
  await ensureDatabases(postgresUrl, databases);
  await Promise.all(
    SERVICES.map((s) => migrateServiceDatabase(ROOT, s.name, databaseUrl(postgresUrl, `medledger_${s.name}`))),
  );

  say('building the services...');
  await runOrFail(bin('nx'), ['run-many', '-t', 'build', '-p', ...SERVICES.map((s) => s.name), '--outputStyle=stream']);

  const logDir = join(ROOT, '.data/logs');
  mkdirSync(logDir, { recursive: true });
  for (const service of SERVICES) {
    const log = createWriteStream(join(logDir, `${service.name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, [join(ROOT, 'dist/apps', service.name, 'main.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'development',
        PORT: String(service.port),
        DATABASE_URL: databaseUrl(postgresUrl, `medledger_${service.name}`),
        KAFKA_BROKERS: brokers,
        // Development keys (.data/keys): the ledger trusts the producers' keys, and the producers sign with them
        // (EVENT_SIGNING_KEY unset) and pin the ledger's key to verify their receipts.
        LEDGER_PRODUCER_KEYS: devProducerKeyring(),
        LEDGER_VERIFIER_KEYS: devLedgerVerifierKey(),
        LEDGER_URL: 'http://127.0.0.1:3100',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.once('exit', (code, signal) => {
      if (!shuttingDown) {
        say(`${service.name} exited unexpectedly (${signal ?? code}); see .data/logs/${service.name}.log`);
        void shutdown(1);
      }
    });
    children.push(child);
  }
  await Promise.all(
    SERVICES.map((s, i) => waitForHealth(s.name, `http://127.0.0.1:${s.port}`, children[i] as ChildProcess)),
  );

  say('medledger is up:');
  for (const s of SERVICES) {
    say(
      `  ${s.name.padEnd(8)} http://127.0.0.1:${s.port}   docs http://127.0.0.1:${s.port}/docs   logs .data/logs/${s.name}.log`,
    );
  }
  say(`  kafka    ${brokers} (${infrastructure.mode})`);
  const keyrings = writeVerifierKeyrings();
  say(`  keys     ${keyrings.ledger} (ledger), ${keyrings.producers} (producers), for medledger-verify`);

  if (!args.has('--no-demo')) {
    const ok = await runDemo(Object.fromEntries(SERVICES.map((s) => [s.name, `http://127.0.0.1:${s.port}`])));
    if (args.has('--exit')) await shutdown(ok ? 0 : 1);
  } else if (args.has('--exit')) {
    await shutdown(0);
  }
  say('press Ctrl-C to stop');
}

main().catch(async (error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  await shutdown(1);
});

/**
 * `npm start`: the whole network on this machine, no Docker needed.
 * Infrastructure (Kafka + PostgreSQL, see libs/testing startInfrastructure), per-service databases and
 * migrations, a build, the four services as child processes (logs in .data/logs/), a wait for every /health,
 * then the demo. Stays up until Ctrl-C, which stops everything it started. A service that exits on its own is
 * restarted with backoff (supervisor.ts), as compose's `restart: unless-stopped` would; one that keeps failing
 * stops the stack.
 *   --no-demo        do not run the demo
 *   --exit           stop after the demo (exit code = the demo's); used by CI to prove this command works
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { verifierKey } from '@medledger/ledger-core';
import {
  databaseUrl,
  dropDatabase,
  ensureDatabases,
  migrateServiceDatabase,
  startInfrastructure,
  type Infrastructure,
} from '@medledger/testing';
import { runDemo } from './demo';
import {
  devLedgerVerifierKey,
  devProducerKeyring,
  devWitnessKeyring,
  ledgerWitnesses,
  writeVerifierKeyrings,
} from './dev-keys';
import { bin, ROOT, runOrFail, say } from './lib';
import { Supervised } from './supervisor';

const SERVICES = [
  { name: 'ledger', port: 3100 },
  { name: 'records', port: 3101 },
  { name: 'trials', port: 3102 },
  { name: 'supply', port: 3103 },
] as const;

/** First boot connects to Kafka and PostgreSQL and creates topics; on 2 cores this takes a few seconds. */
const HEALTH_TIMEOUT_MS = 90_000;

const services: Supervised[] = [];

/** The producing services' base URLs: the ledger asks each of them, as witnesses, to cosign (LEDGER_WITNESSES). */
function serviceUrls(): Record<'records' | 'trials' | 'supply', string> {
  const url = (name: string) => `http://127.0.0.1:${SERVICES.find((s) => s.name === name)?.port ?? 0}`;
  return { records: url('records'), trials: url('trials'), supply: url('supply') };
}

/** The broker and database being started: a Ctrl-C during the start waits for it, to stop what it started. */
let infrastructure: Promise<Infrastructure> | undefined;
let stopping: Promise<never> | undefined;
let gaveUp: string | undefined;

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/health`)).ok;
  } catch {
    return false;
  }
}

/** Waits for /health; a crash meanwhile is the supervisor's to restart, so only giving up ends the wait early. */
async function waitForHealth(name: string, url: string): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (gaveUp !== undefined) throw new Error(gaveUp);
    if (await healthy(url)) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${name} not healthy after ${HEALTH_TIMEOUT_MS} ms; see .data/logs/${name}.log`);
}

/**
 * The development databases belong to the development keys of the checkout that created them (`.data/keys`,
 * git-ignored). PostgreSQL outlives checkouts: a fresh clone on the same machine finds a ledger sealed with another
 * checkout's key, which its ledger would extend and nothing it pins would verify. Such databases (all four: the
 * producers' receipts point into that chain) are dropped and created afresh, and the reason is said.
 */
async function retireForeignDatabases(postgresUrl: string, databases: readonly string[]): Promise<void> {
  const client = new Client({ connectionString: databaseUrl(postgresUrl, 'medledger_ledger') });
  let signers: string[];
  try {
    await client.connect();
    const { rows } = await client.query<{ name: string; public_key: Buffer }>(
      'SELECT name, public_key FROM signing_key',
    );
    signers = rows.map((row) => verifierKey(row.name, row.public_key));
  } catch {
    return; // no ledger database yet, or not migrated: nothing was sealed
  } finally {
    await client.end().catch(() => undefined);
  }
  const ours = devLedgerVerifierKey();
  const foreign = signers.filter((key) => key !== ours);
  if (foreign.length === 0) return;
  say(
    `the development databases were sealed with another checkout's ledger key (${foreign.join(', ')}; this one's is ${ours}): recreating ${databases.join(', ')}`,
  );
  for (const name of databases) await dropDatabase(postgresUrl, name);
}

/**
 * Stops the services (each SIGTERM, then SIGKILL after 15 s), then the Kafka broker if this run started it, then
 * exits. Once: a second Ctrl-C, or npm and tsx passing the terminal's signal on again, waits for the same stop
 * instead of exiting half-way and leaving the broker running. No step's failure skips the next.
 */
function shutdown(code: number): Promise<never> {
  stopping ??= (async () => {
    let exitCode = code;
    say('stopping services...');
    const stopped = await Promise.allSettled(services.map((service) => service.stop()));
    for (const result of stopped) {
      if (result.status === 'rejected') {
        say(`a service did not stop cleanly: ${String(result.reason)}`);
        exitCode ||= 1;
      }
    }
    try {
      await (await infrastructure)?.stop();
    } catch (error) {
      say(`the Kafka broker did not stop cleanly: ${error instanceof Error ? error.message : String(error)}`);
      exitCode ||= 1;
    }
    say('stopped');
    process.exit(exitCode);
  })();
  return stopping;
}

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  // `on`, not `once`: a Ctrl-C reaches this process more than once (from the terminal, and again from npm and tsx),
  // and a second signal with no handler left would kill it before the broker is stopped.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (stopping) say(`${signal}: already stopping`);
      void shutdown(0);
    });
  }

  infrastructure = startInfrastructure({ rootDir: ROOT, log: say });
  const { kafkaBrokers, postgresUrl, mode } = await infrastructure;
  const brokers = kafkaBrokers.join(',');

  say('creating and migrating the service databases...');
  const databases = SERVICES.map((s) => `medledger_${s.name}`);
  await retireForeignDatabases(postgresUrl, databases);
  await ensureDatabases(postgresUrl, databases);
  await Promise.all(
    SERVICES.map((s) => migrateServiceDatabase(ROOT, s.name, databaseUrl(postgresUrl, `medledger_${s.name}`))),
  );

  say('building the services...');
  await runOrFail(bin('nx'), ['run-many', '-t', 'build', '-p', ...SERVICES.map((s) => s.name), '--outputStyle=stream']);

  const logDir = join(ROOT, '.data/logs');
  mkdirSync(logDir, { recursive: true });
  for (const service of SERVICES) {
    const url = `http://127.0.0.1:${service.port}`;
    const supervised = new Supervised({
      name: service.name,
      command: process.execPath,
      args: [join(ROOT, 'dist/apps', service.name, 'main.js')],
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
        // The ledger asks records, trials and supply to cosign each checkpoint (ADR 0012); each cosigns with its
        // development witness key (WITNESS_SIGNING_KEY unset), whose public half is pinned here.
        LEDGER_WITNESSES: ledgerWitnesses(devWitnessKeyring(), serviceUrls()),
      },
      log: createWriteStream(join(logDir, `${service.name}.log`), { flags: 'a' }),
      say: (message) => say(`${message}; see .data/logs/${service.name}.log`),
      onGiveUp: (reason) => {
        gaveUp = reason;
        void shutdown(1);
      },
      onRestart: () => {
        waitForHealth(service.name, url).then(
          () => say(`${service.name} is healthy again`),
          (error: unknown) => say(error instanceof Error ? error.message : String(error)),
        );
      },
    });
    supervised.start();
    services.push(supervised);
  }
  await Promise.all(SERVICES.map((s) => waitForHealth(s.name, `http://127.0.0.1:${s.port}`)));

  say('medledger is up:');
  for (const s of SERVICES) {
    say(
      `  ${s.name.padEnd(8)} http://127.0.0.1:${s.port}   docs http://127.0.0.1:${s.port}/docs   logs .data/logs/${s.name}.log`,
    );
  }
  say(`  kafka    ${brokers} (${mode})`);
  const keyrings = writeVerifierKeyrings();
  say(
    `  keys     ${keyrings.ledger} (ledger), ${keyrings.producers} (producers), ${keyrings.witnesses} (witnesses), for medledger-verify`,
  );

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

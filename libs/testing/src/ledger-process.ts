import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { DynamicModule } from '@nestjs/common';
import { createSigner, ed25519PublicKeyFromSeed, verifierKey } from '@medledger/ledger-core';
import type { ServiceConfig } from '@medledger/platform';
import {
  createServiceDatabase,
  eventually,
  startService,
  testKafkaBrokers,
  uniqueSuffix,
  type RunningService,
  type TestDatabase,
} from './suite';
import { workspaceRoot } from './jest/env';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface LedgerProcessOptions {
  /** Topics the ledger seals (LEDGER_TOPICS). */
  topics: string[];
  /** Signed-note verifier keys of the producers it accepts (LEDGER_PRODUCER_KEYS). */
  producerKeys: string[];
  /** Default: the suite's Kafka. */
  brokers?: string[];
  env?: Record<string, string>;
}

export interface LedgerProcess {
  baseUrl: string;
  /** The ledger's signed-note verifier key, to pin in a receipt verifier (LEDGER_VERIFIER_KEYS). */
  verifierKey: string;
  origin: string;
  database: TestDatabase;
  /** Everything the process printed (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/** The built ledger's entry point (its project's `build` must have run). */
export function builtLedgerMain(): string {
  return join(workspaceRoot(), 'dist/apps/ledger/main.js');
}

export interface BuiltLedgerEnv {
  port: number;
  databaseUrl: string;
  /** Names the run's consumer groups and its development-key directory. */
  suffix: string;
  topics: readonly string[];
  producerKeys: readonly string[];
  /** LEDGER_SIGNING_KEY (base64 seed); none: the development key under KEYS_DIR. */
  signingSeed?: Uint8Array;
  origin?: string;
  brokers?: readonly string[];
}

/**
 * The environment of a built ledger process for a test: its port, database, the suite's Kafka, consumer groups of
 * its own, the topics and producer keys it seals, and quiet logs (LOG_LEVEL, default warn). Suites that start and
 * kill the process themselves (crash safety, tampered tiles) spawn {@link builtLedgerMain} with it.
 */
export function builtLedgerEnv(options: BuiltLedgerEnv): Record<string, string> {
  return {
    PORT: String(options.port),
    HOST: '127.0.0.1',
    DATABASE_URL: options.databaseUrl,
    KAFKA_BROKERS: (options.brokers ?? testKafkaBrokers()).join(','),
    KAFKA_GROUP_ID: `ledger-diag-${options.suffix}`,
    KAFKA_CLIENT_ID: `ledger-${options.suffix}`,
    LEDGER_GROUP_ID: `ledger-${options.suffix}`,
    LEDGER_TOPICS: options.topics.join(','),
    LEDGER_PRODUCER_KEYS: options.producerKeys.join(','),
    ...(options.signingSeed && { LEDGER_SIGNING_KEY: Buffer.from(options.signingSeed).toString('base64') }),
    ...(options.origin && { LEDGER_ORIGIN: options.origin }),
    KEYS_DIR: join(workspaceRoot(), '.data/test-keys', options.suffix),
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
  };
}

/** Spawns the built ledger with `env` over this process's; everything it prints goes to `onOutput`. */
export function spawnBuiltLedger(env: Record<string, string>, onOutput: (text: string) => void): ChildProcess {
  const child = spawn(process.execPath, [builtLedgerMain()], {
    cwd: workspaceRoot(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => onOutput(chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => onOutput(chunk.toString('utf8')));
  return child;
}

/**
 * Runs the built ledger (dist/apps/ledger/main.js; its project's `build` must have run, as the test-int targets
 * that use it declare) as a child process with a fresh database, fresh consumer groups and a fresh signing key.
 * A service's tests cannot import the ledger's code (module boundaries), and should not: this is the real process.
 */
export async function startLedgerProcess(options: LedgerProcessOptions): Promise<LedgerProcess> {
  const suffix = uniqueSuffix();
  const origin = 'medledger.test/ledger';
  const seed = randomBytes(32);
  const signer = createSigner(origin, seed);
  const database = await createServiceDatabase('ledger');
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  let output = '';
  const child = spawnBuiltLedger(
    {
      ...builtLedgerEnv({
        port,
        databaseUrl: database.url,
        suffix,
        topics: options.topics,
        producerKeys: options.producerKeys,
        signingSeed: seed,
        origin,
        ...(options.brokers && { brokers: options.brokers }),
      }),
      ...options.env,
    },
    (text) => (output += text),
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
    await database.drop().catch(() => undefined);
  };
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`the ledger exited with ${child.exitCode}:\n${output.slice(-3000)}`);
        return (await fetch(`${baseUrl}/health`)).ok ? true : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 250 },
    );
  } catch (error) {
    await stop();
    throw new Error(`the ledger did not become healthy: ${(error as Error).message}\n${output.slice(-3000)}`);
  }
  return { baseUrl, verifierKey: verifierKey(origin, signer.publicKey), origin, database, output: () => output, stop };
}

/** A producing service and the real ledger that seals its events (see {@link startSealedService}). */
export interface SealedService {
  ledger: LedgerProcess;
  service: RunningService;
  /** The service's own public topic, sealed by the ledger. */
  eventsTopic: string;
  stop(): Promise<void>;
}

/**
 * Starts the ledger process and an event-sourced service whose public events it seals: a fresh producer key the
 * ledger trusts, a public topic of the suite's own, receipts verified against the ledger's pinned key. `env` adds to
 * the service's settings (a suite's token issuer, for one); `ledgerEnv` to the ledger's.
 */
export async function startSealedService(
  name: 'records' | 'trials' | 'supply',
  rootModule: (config: ServiceConfig, env: Record<string, string>) => DynamicModule,
  options: { env?: Record<string, string>; ledgerEnv?: Record<string, string> } = {},
): Promise<SealedService> {
  const seed = randomBytes(32);
  const eventsTopic = `test.${uniqueSuffix()}.${name}.events`;
  const ledger = await startLedgerProcess({
    topics: [eventsTopic],
    producerKeys: [verifierKey(name, ed25519PublicKeyFromSeed(seed))],
    env: { LEDGER_BLOCK_MAX_AGE_MS: '50', ...options.ledgerEnv },
  });
  try {
    const service = await startService(name, (config) =>
      rootModule(config, {
        EVENT_SIGNING_KEY: seed.toString('base64'),
        PUBLIC_EVENTS_TOPIC: eventsTopic,
        LEDGER_URL: ledger.baseUrl,
        LEDGER_VERIFIER_KEYS: ledger.verifierKey,
        LEDGER_ORIGIN: ledger.origin,
        KEYS_DIR: `.data/test-keys/${uniqueSuffix()}`,
        ...options.env,
      }),
    );
    return {
      ledger,
      service,
      eventsTopic,
      stop: async () => {
        await service.close();
        await ledger.stop();
      },
    };
  } catch (error) {
    await ledger.stop();
    throw error;
  }
}

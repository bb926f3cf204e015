import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamicModule, INestApplication } from '@nestjs/common';
import type { ServiceName } from '@medledger/contracts';
import { createServiceApp, loadServiceConfig, type ServiceConfig } from '@medledger/platform';
import { createDatabaseFromTemplate, databaseUrl, dropDatabase } from './infra/postgres';
import { TEST_ENV, templateDatabaseName } from './jest/env';

export { TEST_ENV, templateDatabaseName, workspaceRoot } from './jest/env';

/** Short random suffix for names a suite must not share with any other (databases, groups, ids). */
export function uniqueSuffix(): string {
  return randomBytes(5).toString('hex');
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run integration tests through their jest.int config (global setup)`);
  return value;
}

export function testKafkaBrokers(): string[] {
  return requiredEnv(TEST_ENV.kafkaBrokers).split(',');
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh database for one suite, cloned from the service's migrated template. */
export async function createServiceDatabase(service: ServiceName): Promise<TestDatabase> {
  const adminUrl = requiredEnv(TEST_ENV.postgresUrl);
  const name = `medledger_${service}_t_${uniqueSuffix()}`;
  await createDatabaseFromTemplate(adminUrl, templateDatabaseName(service), name);
  return { name, url: databaseUrl(adminUrl, name), drop: () => dropDatabase(adminUrl, name) };
}

/** Service configuration for a test: the suite's database and Kafka, and consumer ids no other suite uses. */
export function testServiceConfig(
  service: ServiceName,
  database: TestDatabase,
  env: Record<string, string> = {},
): ServiceConfig {
  const suffix = uniqueSuffix();
  return loadServiceConfig(service, {
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    KAFKA_BROKERS: testKafkaBrokers().join(','),
    KAFKA_GROUP_ID: `${service}-test-${suffix}`,
    KAFKA_CLIENT_ID: `${service}-test-${suffix}`,
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
    ...env,
  });
}

export interface RunningService {
  app: INestApplication;
  config: ServiceConfig;
  database: TestDatabase;
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * Starts a service module exactly as `main.ts` does (HTTP + Kafka consumer) on a free port, with its own
 * fresh database and consumer group.
 */
export async function startService(
  service: ServiceName,
  rootModule: (config: ServiceConfig) => DynamicModule,
  env: Record<string, string> = {},
  options: { database?: TestDatabase } = {},
): Promise<RunningService> {
  // A caller-owned database (e.g. to restart a service on the same data) is left in place on close.
  const database = options.database ?? (await createServiceDatabase(service));
  const config = testServiceConfig(service, database, env);
  const app = await createServiceApp(rootModule(config), config);
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  return {
    app,
    config,
    database,
    baseUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      await app.close();
      if (!options.database) await database.drop();
    },
  };
}

/** Polls until `probe` returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  { timeoutMs = 20_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `condition not met within ${timeoutMs} ms${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** JSON of a Kafka message value, or undefined when it is not JSON (topics may hold deliberate garbage). */
export function jsonOf(value: Buffer | null | undefined): unknown {
  try {
    return value ? (JSON.parse(value.toString('utf8')) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

import { startLocalKafka, type LocalKafkaHandle } from './local-kafka';

/** Pinned images for machines with a Docker engine (Testcontainers path). cp-kafka 8.0 = Apache Kafka 4.0, KRaft. */
export const KAFKA_IMAGE = 'confluentinc/cp-kafka:8.0.0';
export const POSTGRES_IMAGE = 'postgres:16.10-alpine';

export const DEFAULT_POSTGRES_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

export type InfrastructureMode = 'external' | 'testcontainers' | 'local';

/** A Kafka broker and a PostgreSQL server, and how to stop what this process started. */
export interface Infrastructure {
  mode: InfrastructureMode;
  kafkaBrokers: string[];
  /** URL of a database on the server with the right to create databases (`postgres` by default). */
  postgresUrl: string;
  stop(): Promise<void>;
}

export interface InfrastructureOptions {
  rootDir: string;
  env?: Readonly<Record<string, string | undefined>>;
  log?: (message: string) => void;
}

/**
 * Resolves the infrastructure, in this order:
 * 1. `KAFKA_BROKERS` and `DATABASE_URL` set: use them as they are (CI services, a shared dev stack).
 * 2. A Docker engine answers: start pinned Kafka (KRaft) and PostgreSQL containers with Testcontainers.
 * 3. Otherwise: a real Apache Kafka broker resolved through Maven (tools/kafka) on loopback, and the
 *    PostgreSQL at `DATABASE_URL` (default {@link DEFAULT_POSTGRES_URL}).
 */
export async function startInfrastructure(options: InfrastructureOptions): Promise<Infrastructure> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);
  const brokers = env['KAFKA_BROKERS']?.trim();
  const databaseUrl = env['DATABASE_URL']?.trim();
  if (brokers && databaseUrl) {
    log(`infrastructure: using KAFKA_BROKERS=${brokers} and DATABASE_URL`);
    return {
      mode: 'external',
      kafkaBrokers: brokers.split(',').map((b) => b.trim()),
      postgresUrl: databaseUrl,
      stop: async () => undefined,
    };
  }
  if (env['MEDLEDGER_NO_DOCKER'] !== '1' && (await dockerAvailable())) {
    log('infrastructure: Docker engine found, starting containers with Testcontainers');
    return startContainers();
  }
  log('infrastructure: no Docker engine, starting the local Kafka broker (tools/kafka)');
  const port = env['KAFKA_PORT'] ? Number(env['KAFKA_PORT']) : undefined;
  const kafka: LocalKafkaHandle = await startLocalKafka({ rootDir: options.rootDir, port, log });
  return {
    mode: 'local',
    kafkaBrokers: kafka.brokers,
    postgresUrl: databaseUrl || DEFAULT_POSTGRES_URL,
    // A broker this process did not start (a running dev stack) is left running.
    stop: () => (kafka.startedByUs ? kafka.stop() : Promise.resolve()),
  };
}

async function dockerAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function startContainers(): Promise<Infrastructure> {
  const [{ KafkaContainer }, { PostgreSqlContainer }] = await Promise.all([
    import('@testcontainers/kafka'),
    import('@testcontainers/postgresql'),
  ]);
  const [kafka, postgres] = await Promise.all([
    new KafkaContainer(KAFKA_IMAGE).start(),
    new PostgreSqlContainer(POSTGRES_IMAGE)
      .withDatabase('postgres')
      .withUsername('postgres')
      .withPassword('postgres')
      .start(),
  ]);
  return {
    mode: 'testcontainers',
    kafkaBrokers: [`${kafka.getHost()}:${kafka.getMappedPort(9093)}`],
    postgresUrl: postgres.getConnectionUri(),
    stop: async () => {
      await Promise.all([kafka.stop(), postgres.stop()]);
    },
  };
}

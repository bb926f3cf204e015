import { z } from 'zod';

import { SERVICE_NAMES, type ServiceName } from '@medledger/contracts';

export { SERVICE_NAMES };
export type { ServiceName };

/** Default HTTP ports (README "Services" table). */
export const DEFAULT_PORTS: Readonly<Record<ServiceName, number>> = {
  ledger: 3100,
  records: 3101,
  trials: 3102,
  supply: 3103,
};

/**
 * Consumer group of each service's Nest Kafka transport (its @EventPattern handlers). The ledger's own group,
 * `ledger`, belongs to its sequencer, which consumes the public event topics with manual offset commits.
 */
export const DEFAULT_TRANSPORT_GROUPS: Readonly<Record<ServiceName, string>> = {
  ledger: 'ledger.diagnostics',
  records: 'records',
  trials: 'trials',
  supply: 'supply',
};

const brokerList = z
  .string()
  .trim()
  .min(1, 'must list at least one broker as host:port')
  .transform((value) =>
    value
      .split(',')
      .map((broker) => broker.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each broker must be host:port')).min(1));

const postgresUrl = z
  .string()
  .trim()
  .min(1, 'is required')
  .refine((value) => /^postgres(ql)?:\/\/[^/]+\/[^/?]+/.test(value), 'must be postgresql://user@host:port/database');

/** Every service reads these; a service may extend the schema with its own variables. */
export function serviceConfigSchema(service: ServiceName) {
  return z.object({
    // 0 asks the OS for a free port (tests).
    PORT: z.coerce.number().int().min(0).max(65535).default(DEFAULT_PORTS[service]),
    HOST: z.string().trim().min(1).default('0.0.0.0'),
    DATABASE_URL: postgresUrl,
    KAFKA_BROKERS: brokerList,
    // Consumer group of the Nest Kafka transport; tests give each suite its own.
    KAFKA_GROUP_ID: z.string().trim().min(1).default(DEFAULT_TRANSPORT_GROUPS[service]),
    KAFKA_CLIENT_ID: z.string().trim().min(1).default(`medledger-${service}`),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    // Upper bound for draining the consumer and flushing the producer on SIGTERM.
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  });
}

export type ServiceConfig = z.infer<ReturnType<typeof serviceConfigSchema>> & { service: ServiceName };

/** Raised when the environment does not satisfy the schema; the message names every offending variable. */
export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: ReadonlyArray<{ variable: string; message: string }>,
  ) {
    super(
      `invalid configuration for ${service}:\n` + problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Validates the environment against any zod object schema; failures name every offending variable. */
export function parseEnvironment<S extends z.ZodType>(
  service: string,
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      service,
      result.error.issues.map((issue) => ({
        // The variable itself, not the position inside its parsed value (KAFKA_BROKERS, not KAFKA_BROKERS.0).
        variable: issue.path.length > 0 ? String(issue.path[0]) : '(environment)',
        message: issue.code === 'invalid_type' && issue.input === undefined ? 'is required but not set' : issue.message,
      })),
    );
  }
  return result.data;
}

export function loadServiceConfig(
  service: ServiceName,
  env: Readonly<Record<string, string | undefined>>,
): ServiceConfig {
  return { ...parseEnvironment(service, serviceConfigSchema(service), env), service };
}

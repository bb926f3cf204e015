import { z } from 'zod';
import { parseEnvironment, type ServiceName } from '@medledger/platform';

/** After this long without a receipt a published event counts as unsealed (metric, `GET /v1/events/unsealed`). */
export const RECEIPT_UNSEALED_AFTER_MS = 60_000;

/**
 * How often receipts kept without proof (the ledger did not answer, or rows from before receipts were verified) are
 * proven again: a ledger back after an outage is noticed within this, at one request per block per pass.
 */
export const RECEIPT_VERIFY_INTERVAL_MS = 5_000;

const list = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

export const eventStoreConfigSchema = z.object({
  NODE_ENV: z.string().default('development'),
  /** Base64 Ed25519 seed (32 bytes) this service signs its event batches with. Outside production: a dev key. */
  EVENT_SIGNING_KEY: z.string().trim().optional(),
  KEYS_DIR: z.string().trim().default('.data/keys'),
  /** Base URL of the ledger's HTTP API (receipts fetch proofs from it). */
  LEDGER_URL: z.url().default('http://127.0.0.1:3100'),
  /** The ledger's signed-note verifier keys (`<name>+<keyid>+<base64>`), comma-separated: receipts trust only these. */
  LEDGER_VERIFIER_KEYS: list.default([]),
  LEDGER_ORIGIN: z.string().trim().default('medledger.local/ledger'),
  /**
   * Base64 Ed25519 seed (32 bytes) this service cosigns the ledger's checkpoints with, as a witness (C2SP
   * tlog-witness, ADR 0012). Outside production: a development key under KEYS_DIR.
   */
  WITNESS_SIGNING_KEY: z.string().trim().optional(),
  /** The witness's key name (C2SP tlog-cosignature: a schema-less URL). Default `medledger.local/<service>/witness`. */
  WITNESS_NAME: z
    .string()
    .trim()
    .regex(/^[^\s+]+$/, 'must be a key name without spaces or "+"')
    .optional(),
  RECEIPT_UNSEALED_AFTER_MS: z.coerce.number().int().min(1).default(RECEIPT_UNSEALED_AFTER_MS),
  RECEIPT_VERIFY_INTERVAL_MS: z.coerce.number().int().min(10).default(RECEIPT_VERIFY_INTERVAL_MS),
  /**
   * Publishes every public event to this topic instead of its catalogue topic: a namespace for isolated runs
   * (integration tests, benchmarks) on a shared broker. Unset in a normal deployment.
   */
  PUBLIC_EVENTS_TOPIC: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._-]{1,200}$/, 'must be a Kafka topic name')
    .optional(),
});
export type EventStoreConfig = z.infer<typeof eventStoreConfigSchema>;

export function loadEventStoreConfig(
  service: ServiceName,
  env: Readonly<Record<string, string | undefined>>,
): EventStoreConfig {
  const config = parseEnvironment(service, eventStoreConfigSchema, env);
  if (config.NODE_ENV === 'production') {
    // parseEnvironment's error, so the process exits naming the variable.
    if (!config.EVENT_SIGNING_KEY) parseEnvironment(service, z.object({ EVENT_SIGNING_KEY: z.string() }), {});
    if (!config.WITNESS_SIGNING_KEY) parseEnvironment(service, z.object({ WITNESS_SIGNING_KEY: z.string() }), {});
    if (config.LEDGER_VERIFIER_KEYS.length === 0)
      parseEnvironment(service, z.object({ LEDGER_VERIFIER_KEYS: z.string() }), {});
  }
  return config;
}

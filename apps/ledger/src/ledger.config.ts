import { z } from 'zod';
import { PUBLIC_EVENT_TOPICS, serviceOfTopic } from '@medledger/contracts';
import { parseEnvironment } from '@medledger/platform';

/**
 * Block cut limits: a block is sealed as soon as any is reached. Defaults from the benchmark
 * (docs/perf.md): large enough that signing and the per-block transaction are amortised, small enough that
 * publish→sealed stays well under the 300 ms target at 2,000 events/s.
 */
export const BLOCK_MAX_EVENTS = 2_000;
/** Also bounds the ledger.BlockSealed message (≈ 60 bytes per event id) well under Kafka's 1 MiB default. */
export const BLOCK_MAX_BYTES = 4 * 1024 * 1024;
export const BLOCK_MAX_AGE_MS = 100;
/** Largest accepted event envelope; larger ones are dead-lettered (LEDGER.EVENT_TOO_LARGE). */
export const EVENT_MAX_BYTES = 256 * 1024;
/**
 * Threads that admit events (JSON, envelope, proof of origin, canonical form) beside the one that seals: two on two
 * cores, since the sealing thread is about half busy while one worker is saturated (npm run bench:ledger,
 * docs/perf.md). 0 admits on the main thread.
 */
export const ADMISSION_WORKERS = 2;

const list = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

export const ledgerConfigSchema = z.object({
  LEDGER_ORIGIN: z
    .string()
    .trim()
    .regex(/^[^\s+—]+$/, 'must be a checkpoint origin without spaces, e.g. medledger.local/ledger')
    .default('medledger.local/ledger'),
  /** Base64 Ed25519 seed (32 bytes). Unset outside production: a development key under KEYS_DIR. */
  LEDGER_SIGNING_KEY: z.string().trim().optional(),
  /**
   * For a key change only: the base64 seed of the key that signed the newest block, when LEDGER_SIGNING_KEY is a
   * new key. The ledger signs the key change record with it (docs/design/ledger-format.md §5.1); without it a new
   * key refuses to start (LEDGER.FOREIGN_SIGNING_KEY). Unneeded once the new key has sealed a block.
   */
  LEDGER_PREVIOUS_SIGNING_KEY: z.string().trim().optional(),
  KEYS_DIR: z.string().trim().default('.data/keys'),
  NODE_ENV: z.string().default('development'),
  /** Signed-note verifier keys of the producers (`<name>+<keyid>+<base64>`), comma-separated. */
  LEDGER_PRODUCER_KEYS: list.default([]),
  /** Each names the one producer whose events it carries (serviceOfTopic): the ledger refuses any other's there. */
  LEDGER_TOPICS: list
    .refine((topics) => topics.every((topic) => serviceOfTopic(topic) !== undefined), {
      message: 'every topic must name its producer: medledger.<service>.events or <prefix>.<service>.events',
    })
    .default(Object.values(PUBLIC_EVENT_TOPICS)),
  /** The sequencer's consumer group (manual offset commits after each durable block). */
  LEDGER_GROUP_ID: z.string().trim().min(1).default('ledger'),
  LEDGER_BLOCK_MAX_EVENTS: z.coerce.number().int().min(1).max(10_000).default(BLOCK_MAX_EVENTS),
  LEDGER_BLOCK_MAX_BYTES: z.coerce.number().int().min(1024).default(BLOCK_MAX_BYTES),
  LEDGER_BLOCK_MAX_AGE_MS: z.coerce.number().int().min(1).default(BLOCK_MAX_AGE_MS),
  LEDGER_EVENT_MAX_BYTES: z.coerce.number().int().min(256).default(EVENT_MAX_BYTES),
  LEDGER_ADMISSION_WORKERS: z.coerce.number().int().min(0).max(16).default(ADMISSION_WORKERS),
});
export type LedgerConfig = z.infer<typeof ledgerConfigSchema>;

export const LEDGER_CONFIG = Symbol('LEDGER_CONFIG');

export function loadLedgerConfig(env: Readonly<Record<string, string | undefined>>): LedgerConfig {
  const config = parseEnvironment('ledger', ledgerConfigSchema, env);
  if (config.NODE_ENV === 'production' && !config.LEDGER_SIGNING_KEY) {
    // parseEnvironment's error type, so the process exits naming the variable.
    parseEnvironment('ledger', z.object({ LEDGER_SIGNING_KEY: z.string() }), {});
  }
  return config;
}

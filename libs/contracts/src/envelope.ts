import { z } from 'zod';
import { SERVICE_NAMES, type ServiceName } from './services';

/**
 * The one envelope on Kafka: CloudEvents 1.0 (structured JSON mode) with medledger's extension attributes.
 * SPEC: CloudEvents 1.0 §3 (context attributes); extension names are lower-case alphanumerics (§3.1.1).
 */
export const PUBLIC_EVENT_TOPICS: Readonly<Record<Exclude<ServiceName, 'ledger'>, string>> = {
  records: 'medledger.records.events',
  trials: 'medledger.trials.events',
  supply: 'medledger.supply.events',
};

/** Where the ledger announces each sealed block (`ledger.BlockSealed`). */
export const LEDGER_BLOCKS_TOPIC = 'medledger.ledger.blocks';

/** `source` of every event a service publishes: `/medledger/<service>`. */
export function eventSource(service: ServiceName): string {
  return `/medledger/${service}`;
}

export function serviceOfSource(source: string): ServiceName | undefined {
  const match = /^\/medledger\/([a-z]+)$/.exec(source);
  const name = match?.[1];
  return (SERVICE_NAMES as readonly string[]).includes(name ?? '') ? (name as ServiceName) : undefined;
}

const base64Hash = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'must be base64 of 32 bytes');

// Loose: CloudEvents allows further extension attributes; they are kept, signed and sealed as received.
/** What a producer signs: the envelope without its proof of origin. */
export const UnsignedEnvelope = z.looseObject({
  specversion: z.literal('1.0'),
  id: z.string().min(1).max(128),
  source: z.string().regex(/^\/medledger\/[a-z]+$/, 'must be /medledger/<service>'),
  type: z.string().regex(/^[a-z]+\.[A-Z][A-Za-z0-9]*$/, 'must be <service>.<PastTenseEvent>'),
  time: z.iso.datetime(),
  subject: z.string().min(1).optional(),
  dataschema: z.string().min(1).optional(),
  datacontenttype: z.literal('application/json'),
  data: z.record(z.string(), z.unknown()),
  // medledger extensions
  aggregateid: z.string().min(1).optional(),
  aggregateversion: z.number().int().nonnegative().optional(),
  correlationid: z.string().min(1).optional(),
  causationid: z.string().min(1).optional(),
});
export type UnsignedEnvelope = z.infer<typeof UnsignedEnvelope>;

/** The envelope as published: plus the producer's proof of origin (docs/design/ledger-format.md §1). */
export const EventEnvelope = UnsignedEnvelope.extend({
  producerkey: z.string().regex(/^[0-9a-f]{8}$/, 'must be the 8-hex-digit key id'),
  batchnote: z.string().min(1),
  batchindex: z.number().int().nonnegative(),
  batchproof: z.array(base64Hash).max(64),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/** `ledger.BlockSealed`: what the producing services need to keep receipts. No PHI: ids and hashes only. */
export const BlockSealed = z.object({
  type: z.literal('ledger.BlockSealed'),
  height: z.number().int().nonnegative(),
  treeSize: z.number().int().nonnegative(),
  root: base64Hash,
  blockHash: base64Hash,
  checkpoint: z.string().min(1),
  events: z.array(z.object({ eventId: z.string().min(1), index: z.number().int().nonnegative() })),
});
export type BlockSealed = z.infer<typeof BlockSealed>;

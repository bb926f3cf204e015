import { z } from 'zod';
import { dataschemaOf } from './catalogue/define';
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

export const Base64Hash = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'must be base64 of 32 bytes');

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
  batchproof: z.array(Base64Hash).max(64),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/** The content of `ledger.BlockSealed`: what the producing services need to keep receipts. Ids and hashes only. */
export const BlockSealedData = z.object({
  height: z.number().int().nonnegative(),
  treeSize: z.number().int().nonnegative(),
  root: Base64Hash,
  blockHash: Base64Hash,
  checkpoint: z.string().min(1),
  events: z.array(z.object({ eventId: z.string().min(1), index: z.number().int().nonnegative() })),
});
export type BlockSealedData = z.infer<typeof BlockSealedData>;

/** `ledger.BlockSealed` v1: the bare JSON message the ledger published before v2 (still read, never written). */
export const BlockSealed = BlockSealedData.extend({ type: z.literal('ledger.BlockSealed') });
export type BlockSealed = z.infer<typeof BlockSealed>;

/** `ledger.BlockSealed` v2: a CloudEvents envelope whose data is {@link BlockSealedData}. */
export const BlockSealedEnvelope = UnsignedEnvelope.extend({
  type: z.literal('ledger.BlockSealed'),
  source: z.literal('/medledger/ledger'),
  dataschema: z.literal(dataschemaOf('ledger.BlockSealed', 2)),
  data: BlockSealedData,
});

/** Any `ledger.BlockSealed` message on the topic, v1 (bare) or v2 (CloudEvents), read as its data. */
export const BlockSealedMessage = z.union([
  BlockSealedEnvelope.transform((envelope) => envelope.data),
  BlockSealed.transform(({ type: _type, ...data }) => data),
]);

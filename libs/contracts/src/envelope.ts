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

/**
 * The one producer whose events a public event topic carries: the service it names, as in `medledger.<service>.events`
 * (PUBLIC_EVENT_TOPICS) or, for a test's or a benchmark's topic of its own, `<prefix>.<service>.events`. The ledger
 * seals an event only from its producer's topic. Undefined for a topic that names no producing service.
 */
export function serviceOfTopic(topic: string): Exclude<ServiceName, 'ledger'> | undefined {
  const match = /(?:^|\.)([a-z]+)\.events$/.exec(topic);
  const name = match?.[1];
  return name !== undefined && Object.hasOwn(PUBLIC_EVENT_TOPICS, name)
    ? (name as Exclude<ServiceName, 'ledger'>)
    : undefined;
}

const BASE64_HASH = /^[A-Za-z0-9+/]{43}=$/;
const SOURCE = /^\/medledger\/[a-z]+$/;
const EVENT_TYPE = /^[a-z]+\.[A-Z][A-Za-z0-9]*$/;
const KEY_ID = /^[0-9a-f]{8}$/;
const ID_MAX_LENGTH = 128;
const BATCH_PROOF_MAX = 64;

export const Base64Hash = z.string().regex(BASE64_HASH, 'must be base64 of 32 bytes');
const EventTime = z.iso.datetime();

// Loose: CloudEvents allows further extension attributes; they are kept, signed and sealed as received.
/** What a producer signs: the envelope without its proof of origin. */
export const UnsignedEnvelope = z.looseObject({
  specversion: z.literal('1.0'),
  id: z.string().min(1).max(ID_MAX_LENGTH),
  source: z.string().regex(SOURCE, 'must be /medledger/<service>'),
  type: z.string().regex(EVENT_TYPE, 'must be <service>.<PastTenseEvent>'),
  time: EventTime,
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
  producerkey: z.string().regex(KEY_ID, 'must be the 8-hex-digit key id'),
  batchnote: z.string().min(1),
  batchindex: z.number().int().nonnegative(),
  batchproof: z.array(Base64Hash).max(BATCH_PROOF_MAX),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

const TIME = EventTime._zod.pattern;
const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isOptionalText = (value: unknown) => value === undefined || isText(value);
const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
const isObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A quick yes for what {@link EventEnvelope} accepts, written out for the ledger, which checks every event: true
 * only where `EventEnvelope.safeParse(json)` succeeds (same rules, same patterns), in a fraction of its time (zod
 * took ~6 µs of an event's ~35 µs of admission, and builds a copy the ledger does not use). False sends the caller
 * to zod, which decides and says why (decodeMessage's `accepts`). envelope.spec.ts holds the two to the same
 * answers.
 */
export function isEventEnvelope(json: unknown): json is EventEnvelope {
  if (!isObject(json)) return false;
  const e = json as Record<string, unknown>;
  return (
    e['specversion'] === '1.0' &&
    isText(e['id']) &&
    e['id'].length <= ID_MAX_LENGTH &&
    typeof e['source'] === 'string' &&
    SOURCE.test(e['source']) &&
    typeof e['type'] === 'string' &&
    EVENT_TYPE.test(e['type']) &&
    typeof e['time'] === 'string' &&
    TIME.test(e['time']) &&
    isOptionalText(e['subject']) &&
    isOptionalText(e['dataschema']) &&
    e['datacontenttype'] === 'application/json' &&
    isObject(e['data']) &&
    isOptionalText(e['aggregateid']) &&
    (e['aggregateversion'] === undefined || isCount(e['aggregateversion'])) &&
    isOptionalText(e['correlationid']) &&
    isOptionalText(e['causationid']) &&
    typeof e['producerkey'] === 'string' &&
    KEY_ID.test(e['producerkey']) &&
    isText(e['batchnote']) &&
    isCount(e['batchindex']) &&
    Array.isArray(e['batchproof']) &&
    e['batchproof'].length <= BATCH_PROOF_MAX &&
    e['batchproof'].every((hash) => typeof hash === 'string' && BASE64_HASH.test(hash))
  );
}

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

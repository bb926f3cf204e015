import { isUtcMillisTimestamp } from './encoding';
import { LedgerCoreError, LedgerErrorCode } from './errors';
import { leafHash } from './hash';
import { canonicalBytes, JCS_MAX_DEPTH, nestsWithin } from './jcs';
import { isCount } from './tree-math';

/**
 * What the ledger puts in one Merkle leaf: one received event, where it sits in the log and how it arrived.
 * The index is inside the leaf so that a leaf's bytes prove its position, not only its inclusion.
 */
export interface LeafInput {
  /** The leaf's index in the log. */
  readonly index: number;
  /** When the ledger received the event: RFC 3339 UTC with milliseconds. */
  readonly receivedAt: string;
  /** The Kafka topic it arrived on. */
  readonly topic: string;
  /** The received envelope as a JSON value (JSON.parse of the message value). */
  readonly event: unknown;
}

/**
 * Most levels of arrays and objects an event may nest (the envelope itself is one): the leaf object holds it one
 * level down, and the leaf must have a canonical form (JCS_MAX_DEPTH levels in all), or no verifier can check it.
 */
export const LEAF_EVENT_MAX_DEPTH = JCS_MAX_DEPTH - 1;

/** Whether `event` nests shallowly enough for its leaf to have a canonical form (LEAF_EVENT_MAX_DEPTH). */
export function fitsInLeaf(event: unknown): boolean {
  return nestsWithin(event, LEAF_EVENT_MAX_DEPTH);
}

/** The leaf bytes: RFC 8785 canonical JSON of `{ event, index, receivedAt, topic }`. Throws on invalid input. */
export function leafData(input: LeafInput): Uint8Array {
  const { index, receivedAt, topic, event } = input;
  if (!isCount(index)) throw new LedgerCoreError(LedgerErrorCode.INVALID_LEAF, 'index must be an integer ≥ 0');
  if (!isUtcMillisTimestamp(receivedAt)) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_LEAF, 'receivedAt must be RFC 3339 UTC with milliseconds');
  }
  if (typeof topic !== 'string' || topic.length === 0) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_LEAF, 'topic must be a non-empty string');
  }
  if (event === undefined) throw new LedgerCoreError(LedgerErrorCode.INVALID_LEAF, 'event is required');
  return canonicalBytes({ index, receivedAt, topic, event });
}

/** SPEC: RFC 6962 §2.1: the leaf hash SHA-256(0x00 || leafData(input)). */
export function leafHashOf(input: LeafInput): Uint8Array {
  return leafHash(leafData(input));
}

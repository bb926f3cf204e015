import { canonicalize, fromBase64, isCanonicalJson, type ReceivedEnvelope } from '@medledger/ledger-core';
import { VerifyCode } from './codes';

/** A leaf as `GET /v1/leaves` and bundles carry it. */
export interface LeafRecord {
  readonly index: number;
  readonly eventId: string;
  /** Base64 of the exact leaf bytes. */
  readonly leafData: string;
}

export type LeafCheck =
  | {
      readonly ok: true;
      readonly data: Uint8Array;
      readonly eventId: string;
      /** The event envelope inside the leaf, as sealed (with its proof of origin). */
      readonly event: Readonly<Record<string, unknown>>;
      readonly receivedAt: string;
      readonly topic: string;
      /** The leaf's text: the RFC 8785 form of `{event, index, receivedAt, topic}`, checked. */
      readonly text: string;
    }
  | { readonly ok: false; readonly code: VerifyCode; readonly reason: string };

// SPEC: docs/design/ledger-format.md §2 "Leaf data": JCS of exactly these members.
const LEAF_MEMBERS = ['event', 'index', 'receivedAt', 'topic'];
// `fatal`: a leaf that is not UTF-8 is refused, not patched with U+FFFD.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const RFC3339_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function isUtcMillis(value: unknown): boolean {
  if (typeof value !== 'string' || !RFC3339_UTC_MS.test(value)) return false;
  const date = new Date(value);
  return !Number.isNaN(date.getTime()) && date.toISOString() === value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const EVENT_START = '{"event":'.length;
const AFTER_EVENT = ',"index":';

/**
 * The event's own text and bytes inside a checked leaf: the leaf is the canonical form of `{event, index, receivedAt,
 * topic}`, so the event's member value is the canonical form of the event, and the bytes are UTF-8 (decoded with a
 * fatal decoder). It ends at the last `,"index":`: nothing after it (an integer, a timestamp, a topic string, where a
 * quote is escaped) can hold that text, while the event may (a nested member named `index`).
 */
export function eventOfLeaf(leaf: Extract<LeafCheck, { ok: true }>): ReceivedEnvelope {
  const { text, data } = leaf;
  const end = text.lastIndexOf(AFTER_EVENT);
  const tailBytes = Buffer.byteLength(text.slice(end), 'utf8');
  return {
    text: text.slice(EVENT_START, end),
    bytes: data.subarray(EVENT_START, data.length - tailBytes),
    canonical: true,
  };
}

/**
 * Checks one leaf record against the position it must hold: the record's index, the decoded leaf's index and
 * event id agree with it, and the bytes are the canonical JCS of `{event, index, receivedAt, topic}` (otherwise
 * two different byte strings could stand for the same leaf). Never throws.
 */
export function checkLeaf(record: unknown, expectedIndex: number): LeafCheck {
  const invalid = (reason: string): LeafCheck => ({ ok: false, code: VerifyCode.LEAF_INVALID, reason });
  if (!isRecord(record)) return invalid('not a leaf record');
  const { index, eventId, leafData } = record;
  if (index !== expectedIndex) return invalid(`listed with index ${String(index)} in the place of ${expectedIndex}`);
  if (typeof eventId !== 'string' || eventId === '') return invalid('eventId is not a non-empty string');
  const data = typeof leafData === 'string' ? fromBase64(leafData) : undefined;
  if (!data) return invalid('leafData is not padded base64');

  let text: string;
  let leaf: unknown;
  try {
    text = utf8.decode(data);
    leaf = JSON.parse(text);
  } catch {
    return invalid('leafData is not UTF-8 JSON');
  }
  // isCanonicalJson is true only when canonicalize(leaf) === text, at a fraction of its cost (one native
  // JSON.stringify); when false, canonicalize decides.
  let canonical: string | undefined = isCanonicalJson(text, leaf) ? text : undefined;
  if (canonical === undefined) {
    try {
      canonical = canonicalize(leaf);
    } catch {
      canonical = undefined;
    }
  }
  if (canonical !== text) {
    return { ok: false, code: VerifyCode.LEAF_NOT_CANONICAL, reason: 'leafData is not RFC 8785 canonical JSON' };
  }
  if (!isRecord(leaf) || Object.keys(leaf).join() !== LEAF_MEMBERS.join()) {
    return invalid(`leafData must be {${LEAF_MEMBERS.join(', ')}}`);
  }
  if (leaf['index'] !== expectedIndex) return invalid(`leafData says index ${String(leaf['index'])}`);
  if (!isUtcMillis(leaf['receivedAt'])) return invalid('receivedAt is not RFC 3339 UTC with milliseconds');
  if (typeof leaf['topic'] !== 'string' || leaf['topic'] === '') return invalid('topic is not a non-empty string');
  const event = leaf['event'];
  if (!isRecord(event) || typeof event['id'] !== 'string') return invalid('event has no string id');
  if (event['id'] !== eventId) {
    return {
      ok: false,
      code: VerifyCode.EVENT_ID_MISMATCH,
      reason: `listed as event ${JSON.stringify(eventId)} but holds event ${JSON.stringify(event['id'])}`,
    };
  }
  return { ok: true, data, eventId, event, receivedAt: leaf['receivedAt'] as string, topic: leaf['topic'], text };
}

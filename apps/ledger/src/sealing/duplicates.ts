import { canonicalize, ORIGIN_ATTRIBUTES } from '@medledger/ledger-core';

/**
 * Stable dead-letter reasons for an event whose id the log already has, or is about to have, for another event.
 * The log keys events by id alone (docs/design/ledger-format.md §2), so the first one stands and the other is
 * refused, never dropped in silence and never in its place.
 */
export const DuplicateFailure = {
  /** The same id from another producer (CloudEvents `source`): ids are unique across the whole log. */
  OTHER_SOURCE: 'LEDGER.DUPLICATE_ID_OTHER_SOURCE',
  /** The same id and source with other content than the event that came first. */
  OTHER_CONTENT: 'LEDGER.DUPLICATE_ID_OTHER_CONTENT',
} as const;

export type DuplicateVerdict = { same: true } | { same: false; code: string; reason: string };

const SAME: DuplicateVerdict = { same: true };

/**
 * Whether `again` is the event `first` already is, both the canonical bytes of their whole envelopes (proof of
 * origin included). The same event is a redelivery, which Kafka's at-least-once delivery makes routine and which
 * is skipped in silence: the very bytes again, or the same signed content (everything but the proof attributes)
 * in another producer batch, as an outbox relay that resends a round after a failed commit signs it. Anything
 * else with the same id is refused. Bytes that differ are parsed (rare: only for an id seen twice).
 */
export function compareDuplicate(first: Uint8Array, again: Uint8Array): DuplicateVerdict {
  if (Buffer.from(first.buffer, first.byteOffset, first.byteLength).equals(again)) return SAME;
  return compareEnvelopes(parse(first), parse(again));
}

function compareEnvelopes(first: Record<string, unknown>, again: Record<string, unknown>): DuplicateVerdict {
  if (first['source'] !== again['source']) {
    return {
      same: false,
      code: DuplicateFailure.OTHER_SOURCE,
      reason: `event id ${String(again['id'])} is already taken by an event from ${String(first['source'])}`,
    };
  }
  if (canonicalize(signedContent(first)) === canonicalize(signedContent(again))) return SAME;
  return {
    same: false,
    code: DuplicateFailure.OTHER_CONTENT,
    reason: `event id ${String(again['id'])} is already taken by another event with other content`,
  };
}

function signedContent(envelope: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...envelope };
  for (const attribute of ORIGIN_ATTRIBUTES) delete copy[attribute];
  return copy;
}

function parse(bytes: Uint8Array): Record<string, unknown> {
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** What every leaf's data begins with (JCS of {event, index, receivedAt, topic}), and what follows its event. */
const [EVENT_PREFIX, EVENT_SUFFIX] = [Buffer.from('{"event":'), Buffer.from(',"index":')];

/**
 * {@link compareDuplicate} of an event with the one a leaf of the log holds (its data). The leaf holds the event's
 * canonical bytes as they are, so a redelivery (the common case: the events of a block whose offsets a crash left
 * uncommitted) is found without parsing.
 */
export function compareWithLeaf(leafData: Uint8Array, again: Uint8Array): DuplicateVerdict {
  const data = Buffer.from(leafData.buffer, leafData.byteOffset, leafData.byteLength);
  const end = EVENT_PREFIX.length + again.length;
  if (
    data.subarray(0, EVENT_PREFIX.length).equals(EVENT_PREFIX) &&
    data.subarray(EVENT_PREFIX.length, end).equals(again) &&
    data.subarray(end, end + EVENT_SUFFIX.length).equals(EVENT_SUFFIX)
  )
    return SAME;
  return compareEnvelopes((parse(leafData) as { event: Record<string, unknown> }).event, parse(again));
}

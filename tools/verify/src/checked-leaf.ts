import { leafHash } from '@medledger/ledger-core';
import { type VerifyCode } from './codes';
import { checkLeaf, eventOfLeaf } from './leaf';
import { type OriginCheck, type ProducerCheck } from './producers';

/**
 * What can be known of one leaf record on its own, from its place in the stream of leaves (the k-th leaf is leaf
 * k: block 0 starts at leaf 0 and every block at the previous one's treeSize, which the chain checks before it
 * takes a block's leaves): checkLeaf's verdict, the leaf hash, and the event's proof of origin. What needs the
 * other leaves or the blocks (duplicates, receivedAt against sealedAt, the root) is left to verifyChain, in order.
 * The same function runs on the main thread (checkLeaves) and on worker threads (leaf-pool.ts), so that both
 * reach the same verdicts.
 */
export type CheckedLeaf =
  | {
      readonly ok: true;
      readonly eventId: string;
      readonly receivedAt: string;
      readonly hash: Uint8Array;
      /** The proof of origin's verdict when it fails; undefined when it holds or is not checked. */
      readonly origin?: Extract<OriginCheck, { ok: false }>;
    }
  | {
      readonly ok: false;
      readonly code: VerifyCode;
      readonly reason: string;
      /** The record's own `index`, as text: the message of a leaf after the last block names it. */
      readonly listedIndex: string;
    };

export function checkLeafAt(record: unknown, index: number, producers: ProducerCheck | undefined): CheckedLeaf {
  const leaf = checkLeaf(record, index);
  if (!leaf.ok) {
    const listedIndex = String((record as { index?: unknown } | null)?.index);
    return { ok: false, code: leaf.code, reason: leaf.reason, listedIndex };
  }
  const origin = producers?.check(leaf.event, leaf.topic, eventOfLeaf(leaf));
  return {
    ok: true,
    eventId: leaf.eventId,
    receivedAt: leaf.receivedAt,
    hash: leafHash(leaf.data),
    ...(origin && !origin.ok ? { origin } : {}),
  };
}

/** Leaves checked one by one on this thread, as they are read. */
export async function* checkLeaves(
  records: AsyncIterable<unknown>,
  producers: ProducerCheck | undefined,
): AsyncGenerator<CheckedLeaf> {
  let index = 0;
  for await (const record of records) yield checkLeafAt(record, index++, producers);
}

/** A stream of leaves already checked one by one ({@link checkLeafAt}), e.g. on worker threads. */
export interface CheckedLeaves {
  readonly checked: AsyncIterable<CheckedLeaf>;
}

export function isCheckedLeaves(leaves: AsyncIterable<unknown> | CheckedLeaves): leaves is CheckedLeaves {
  return 'checked' in leaves;
}

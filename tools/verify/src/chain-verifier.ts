import {
  BlockFailure,
  blockHash,
  bytesEqual,
  CompactRange,
  fail,
  fromBase64,
  toBase64,
  verifyChainLink,
  verifyCheckpoint,
  verifyHeader,
  verifyKeyChange,
  type BlockFailureCode,
  type Checkpoint,
  type SignedBlockHeader,
} from '@medledger/ledger-core';
import { finding, VerifyCode, type Finding } from './codes';
import { type TrustedKeys } from './keys';
import { checkLeaves, isCheckedLeaves, type CheckedLeaves } from './checked-leaf';
import { type ProducerCheck } from './producers';

/** A block as `GET /v1/blocks` and bundles carry it: the signed header plus `hash` and `checkpoint`. */
export interface BlockRecord extends SignedBlockHeader {
  readonly hash: string;
  readonly checkpoint: string;
}

export interface ChainProgress {
  readonly blocks: number;
  readonly leaves: number;
}

export interface ChainInput {
  readonly keys: TrustedKeys;
  /**
   * The latest signed checkpoint (`GET /v1/checkpoint`, or a bundle's), undefined for an empty log. It is the
   * anchor: the chain must end exactly at its size and root.
   */
  readonly checkpoint: string | undefined;
  /** Blocks from height 0, in order. Untrusted: every field is checked. */
  readonly blocks: AsyncIterable<unknown>;
  /**
   * Leaves from index 0, in order. Untrusted. Consumed as the blocks need them, so memory stays O(log n). Or the
   * same leaves already checked one by one (checkLeafAt, e.g. on worker threads: leaf-pool.ts), with `producers`.
   */
  readonly leaves: AsyncIterable<unknown> | CheckedLeaves;
  /** The log's origin, when the caller pins it; otherwise the latest checkpoint's origin is used. */
  readonly origin?: string;
  /** Pinned producer keys: every leaf's proof of origin is checked against them. Without, it is not checked. */
  readonly producers?: ProducerCheck;
  /**
   * A checkpoint this verifier checked before (the state file): the log verified now must hold exactly that tree
   * at that size (recomputed from the leaves, so no proof is needed), or the two signed histories contradict.
   */
  readonly recorded?: Checkpoint;
  readonly onProgress?: (progress: ChainProgress) => void;
}

export interface ChainSummary {
  readonly ok: true;
  readonly blocks: number;
  readonly leaves: number;
  readonly treeSize: number;
  /** Base64 root at treeSize. */
  readonly root: string;
  readonly origin: string | undefined;
  /** The last block's sealedAt (signed): when the latest checkpoint was made. Undefined for an empty log. */
  readonly sealedAt: string | undefined;
}

export type ChainReport = ChainSummary | Finding;

/** What a ledger-core header or link failure means for a user, with our stable code. */
const BLOCK_FAILURES: Record<BlockFailureCode, { code: VerifyCode; what: string }> = {
  [BlockFailure.MALFORMED]: { code: VerifyCode.BLOCK_MALFORMED, what: 'malformed header' },
  [BlockFailure.BAD_GENESIS]: { code: VerifyCode.BAD_GENESIS, what: 'bad genesis' },
  [BlockFailure.UNKNOWN_KEY]: { code: VerifyCode.UNKNOWN_KEY, what: 'unknown key' },
  [BlockFailure.BAD_SIGNATURE]: { code: VerifyCode.SIGNATURE_INVALID, what: 'signature invalid' },
  [BlockFailure.HEIGHT_GAP]: { code: VerifyCode.BLOCK_MISSING, what: 'height out of sequence' },
  [BlockFailure.PREVIOUS_HASH_MISMATCH]: { code: VerifyCode.PREVIOUS_HASH_MISMATCH, what: 'chain link broken' },
  [BlockFailure.LEAF_INDEX_GAP]: { code: VerifyCode.LEAF_INDEX_GAP, what: 'chain link broken' },
  [BlockFailure.TIME_REVERSED]: { code: VerifyCode.TIME_REVERSED, what: 'chain link broken' },
  [BlockFailure.KEY_CHANGE_MISSING]: { code: VerifyCode.KEY_CHANGE_MISSING, what: 'key changed without a record' },
  [BlockFailure.KEY_CHANGE_INVALID]: { code: VerifyCode.KEY_CHANGE_INVALID, what: 'key change record invalid' },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function b64(bytes: Uint8Array): string {
  return toBase64(bytes);
}

/**
 * Verifies a whole ledger from its blocks and leaves, in one pass, stopping at the first bad block
 * (docs/design/ledger-format.md). For block h, in this order:
 *
 * 1. it is at position h (nothing dropped, duplicated or reordered before it);
 * 2. its header is well-formed, follows the genesis rule, and its signature verifies with a trusted key;
 * 3. its `hash` is blockHash(header) and it links to block h − 1 (verifyChainLink);
 * 3a. it is signed by block h − 1's key, or carries a key change record by that key naming its own key, height and
 *    previousHash (verifyKeyChange), so that no trusted key can sign heights it was not handed;
 * 4. each of its leaves holds the right index and event id in canonical leaf bytes, was received no later than
 *    the block was sealed, carries a valid proof of origin (with `producers`), and no event id repeats;
 * 5. its root is the RFC 6962 root recomputed from every leaf so far (CompactRange: O(log n) state);
 * 6. its checkpoint is signed by the header's key, for the log's origin, at the header's size and root.
 *
 * Then no leaf may follow the last block, and the latest checkpoint must be the last block's size and root. With
 * `recorded`, the root recomputed at its size must be its root, and the log must not be smaller (a split view).
 * Never throws on untrusted input; errors of the sources (network, files) propagate.
 */
export async function verifyChain(input: ChainInput): Promise<ChainReport> {
  const { keys, onProgress, producers, recorded } = input;
  let origin = input.origin;
  let anchor: Checkpoint | undefined;
  if (input.checkpoint !== undefined) {
    const latest = verifyCheckpoint(input.checkpoint, keys.verifiers, origin);
    if (!latest.ok) {
      return finding(VerifyCode.CHECKPOINT_INVALID, `latest checkpoint: ${latest.reason} (${latest.code})`);
    }
    anchor = latest.checkpoint;
    origin ??= anchor.origin;
  }

  const leaves = (isCheckedLeaves(input.leaves) ? input.leaves.checked : checkLeaves(input.leaves, producers))[
    Symbol.asyncIterator
  ]();
  const range = CompactRange.empty();
  const eventIds = new Set<string>();
  /** The root recomputed at the recorded tree size, until the block that covers it is verified. */
  let rootAtRecorded: Uint8Array | undefined;
  let previous: SignedBlockHeader | undefined;
  let height = 0;
  try {
    for await (const block of input.blocks) {
      const verdict = await verifyBlock(block, height, previous);
      if (!verdict.ok) return verdict;
      previous = verdict.header;
      height++;
      onProgress?.({ blocks: height, leaves: range.size });
    }

    const extra = await leaves.next();
    if (!extra.done) {
      const index = extra.value.ok ? String(range.size) : extra.value.listedIndex;
      return finding(
        VerifyCode.EXTRA_LEAVES,
        `leaf ${index}: after the last block (tree size ${range.size}), sealed by no block`,
        { leafIndex: range.size },
      );
    }
  } finally {
    await leaves.return?.();
  }

  const root = b64(range.root());
  if (!anchor) {
    if (previous) {
      return finding(VerifyCode.CHECKPOINT_MISSING, `checkpoint: ${height} blocks but no latest checkpoint`);
    }
    if (recorded && recorded.size > 0) return shrank(0);
    return { ok: true, blocks: 0, leaves: 0, treeSize: 0, root, origin, sealedAt: undefined };
  }
  if (anchor.size !== range.size || b64(anchor.root) !== root) {
    const last = previous ? `last block ${previous.height} (tree size ${range.size}, root ${root})` : 'no block';
    return finding(
      VerifyCode.CHECKPOINT_MISMATCH,
      `checkpoint: the latest checkpoint (tree size ${anchor.size}, root ${b64(anchor.root)}) does not match the ${last}`,
    );
  }
  if (recorded && recorded.size > range.size) return shrank(range.size);
  return {
    ok: true,
    blocks: height,
    leaves: range.size,
    treeSize: range.size,
    root,
    origin,
    sealedAt: previous?.sealedAt,
  };

  function shrank(size: number): Finding {
    return finding(
      VerifyCode.TREE_SHRANK,
      `state: the tree shrank from the recorded ${recorded?.size} leaves to ${size}: entries that were signed are gone`,
      { splitView: true },
    );
  }

  async function verifyBlock(
    block: unknown,
    h: number,
    prev: SignedBlockHeader | undefined,
  ): Promise<{ ok: true; header: SignedBlockHeader } | Finding> {
    const at = { height: h };
    if (!isRecord(block)) return finding(VerifyCode.BLOCK_MALFORMED, `block ${h}: not a JSON object`, at);
    const { hash, checkpoint, ...fields } = block;
    if (fields['height'] !== h) {
      const found = typeof fields['height'] === 'number' ? `block ${fields['height']}` : 'a block without a height';
      return finding(VerifyCode.BLOCK_MISSING, `block ${h}: missing or out of order (found ${found} in its place)`, at);
    }
    const header = fields as unknown as SignedBlockHeader;

    const signed = verifyHeader(header, keys.publicKeyById);
    if (!signed.ok) {
      const { code, what } = BLOCK_FAILURES[signed.code];
      const keyId = String(fields['keyId']);
      const detail =
        signed.code === BlockFailure.UNKNOWN_KEY
          ? `key ${keyId} is not in the trusted keys (${keys.source})`
          : signed.code === BlockFailure.BAD_SIGNATURE
            ? `key ${keyId}`
            : signed.reason;
      return finding(code, `block ${h}: ${what} (${detail})`, at);
    }

    const recomputed = b64(blockHash(header));
    if (hash !== recomputed) {
      return finding(
        VerifyCode.HASH_MISMATCH,
        `block ${h}: hash mismatch (header hashes to ${recomputed}, block says ${String(hash)})`,
        at,
      );
    }
    if (prev) {
      const link = verifyChainLink(prev, header);
      if (!link.ok) {
        const { code, what } = BLOCK_FAILURES[link.code];
        return finding(code, `block ${h}: ${what} to block ${h - 1} (${link.reason})`, at);
      }
      // Both keys are trusted (their headers verified), so both are among the verifiers.
      const keyOf = (keyId: string) => keys.verifiers.find((key) => key.keyId === keyId);
      const [previousKey, ownKey] = [keyOf(prev.keyId), keyOf(header.keyId)];
      const handover =
        previousKey && ownKey
          ? verifyKeyChange(prev, header, previousKey, ownKey, origin)
          : fail(BlockFailure.KEY_CHANGE_INVALID, `block ${h}: its key or block ${h - 1}'s is not trusted`);
      if (!handover.ok) {
        const { code, what } = BLOCK_FAILURES[handover.code];
        return finding(code, `block ${h}: ${what} (${handover.reason})`, at);
      }
    }

    const sealedAt = Date.parse(header.sealedAt);
    for (let index = header.firstLeafIndex; index < header.treeSize; index++) {
      const next = await leaves.next();
      if (next.done) {
        return finding(
          VerifyCode.LEAF_MISSING,
          `block ${h}: leaf ${index} missing (the block seals [${header.firstLeafIndex}, ${header.treeSize}), the log ends at ${index})`,
          { ...at, leafIndex: index },
        );
      }
      const leaf = next.value;
      if (!leaf.ok) return finding(leaf.code, `block ${h}: leaf ${index}: ${leaf.reason}`, { ...at, leafIndex: index });
      if (eventIds.has(leaf.eventId)) {
        return finding(
          VerifyCode.DUPLICATE_EVENT,
          `block ${h}: leaf ${index}: event ${JSON.stringify(leaf.eventId)} is already in the log`,
          { ...at, leafIndex: index },
        );
      }
      if (Date.parse(leaf.receivedAt) > sealedAt) {
        return finding(
          VerifyCode.RECEIVED_AFTER_SEALED,
          `block ${h}: leaf ${index}: received at ${leaf.receivedAt}, after the block was sealed at ${header.sealedAt}`,
          { ...at, leafIndex: index },
        );
      }
      if (leaf.origin) {
        return finding(
          leaf.origin.code,
          `block ${h}: leaf ${index}: event ${JSON.stringify(leaf.eventId)}: proof of origin fails (${leaf.origin.reason})`,
          { ...at, leafIndex: index },
        );
      }
      eventIds.add(leaf.eventId);
      range.append(leaf.hash);
      if (recorded && range.size === recorded.size) rootAtRecorded = range.root();
    }

    const root = b64(range.root());
    if (root !== header.root) {
      return finding(
        VerifyCode.ROOT_MISMATCH,
        `block ${h}: root mismatch (leaves recompute to ${root}, header says ${header.root})`,
        at,
      );
    }

    if (typeof checkpoint !== 'string') return finding(VerifyCode.BLOCK_MALFORMED, `block ${h}: no checkpoint`, at);
    const opened = verifyCheckpoint(checkpoint, keys.verifiers, origin);
    if (!opened.ok) {
      return finding(
        VerifyCode.CHECKPOINT_INVALID,
        `block ${h}: checkpoint invalid (${opened.reason}, ${opened.code})`,
        at,
      );
    }
    if (!opened.verified.some((signature) => signature.keyId === header.keyId)) {
      return finding(
        VerifyCode.CHECKPOINT_INVALID,
        `block ${h}: checkpoint invalid (not signed by the block's key ${header.keyId})`,
        at,
      );
    }
    const cp = opened.checkpoint;
    if (cp.size !== header.treeSize || !bytesEqual(cp.root, fromBase64(header.root) as Uint8Array)) {
      return finding(
        VerifyCode.CHECKPOINT_MISMATCH,
        `block ${h}: checkpoint mismatch (checkpoint says tree size ${cp.size}, root ${b64(cp.root)}; header says ${header.treeSize}, ${header.root})`,
        at,
      );
    }
    // Only now is the root at the recorded size signed (this block's root covers it): a difference is no longer a
    // tampered leaf but two signed histories.
    if (recorded && rootAtRecorded && !bytesEqual(rootAtRecorded, recorded.root)) {
      return finding(
        VerifyCode.ROOT_CHANGED,
        `block ${h}: the log's root at the recorded tree size ${recorded.size} is ${b64(rootAtRecorded)}, ` +
          `the recorded checkpoint's ${b64(recorded.root)}: the log was rewritten`,
        { ...at, splitView: true },
      );
    }
    rootAtRecorded = undefined;
    return { ok: true, header };
  }
}

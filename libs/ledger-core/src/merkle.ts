import { fromBase64, toBase64 } from './encoding';
import { LedgerCoreError, LedgerErrorCode } from './errors';
import { emptyRootHash, HASH_SIZE, nodeHash } from './hash';
import { isCount, MAX_TREE_SIZE, type NodeId, popCount, rangeNodes, toNodeId } from './tree-math';

export function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_SIZE;
}

export function assertHash(value: unknown, what: string): asserts value is Uint8Array {
  if (!isHash(value)) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_ARGUMENT, `${what} must be a ${HASH_SIZE}-byte Uint8Array`);
  }
}

export function assertCount(value: unknown, what: string): asserts value is number {
  if (!isCount(value)) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_ARGUMENT, `${what} must be an integer in [0, 2^53 - 1]`);
  }
}

/**
 * The Merkle Tree Hash of a list of leaf hashes, straight from the recursive definition: split at the largest
 * power of two below n. O(n) hashes; the reference the faster structures are tested against.
 * SPEC: RFC 6962 §2.1 (MTH), RFC 9162 §2.1.1.
 */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  leafHashes.forEach((hash, i) => assertHash(hash, `leafHashes[${i}]`));
  if (leafHashes.length === 0) return emptyRootHash();
  // Array lengths are below 2^32, so plain arithmetic (no bitwise operators) is exact here.
  const mth = (begin: number, end: number): Uint8Array => {
    const n = end - begin;
    if (n === 1) return leafHashes[begin] as Uint8Array;
    let k = 1;
    while (k * 2 < n) k *= 2;
    return nodeHash(mth(begin, begin + k), mth(begin + k, end));
  };
  return mth(0, leafHashes.length);
}

/**
 * The right-border perfect subtrees of a tree of `size` leaves (the frontier, or compact range [0, size)), highest
 * level first. Their hashes, folded right to left by `rootFromFrontier`, give the root of that size, so a service
 * can compute the root of any past size from stored node hashes alone.
 */
export function frontierNodeIds(size: number): NodeId[] {
  assertCount(size, 'size');
  return rangeNodes(0n, BigInt(size)).map(toNodeId);
}

/** Folds a frontier (highest level first) into the root: each hash becomes the left child of what follows it. */
export function rootFromFrontier(frontier: readonly Uint8Array[]): Uint8Array {
  const last = frontier[frontier.length - 1];
  if (last === undefined) return emptyRootHash();
  let root = last;
  for (let i = frontier.length - 2; i >= 0; i--) root = nodeHash(frontier[i] as Uint8Array, root);
  return root;
}

/** The persisted form of a CompactRange: plain JSON. */
export interface CompactRangeState {
  /** Number of leaves in the tree. */
  readonly size: number;
  /** Base64 hashes of the right-border perfect subtrees, highest level (leftmost) first; one per set bit of size. */
  readonly hashes: readonly string[];
}

/**
 * The compact range [0, size) (also called the frontier): the roots of the perfect subtrees on the tree's right
 * border, one per set bit of `size`. It is all a writer needs to append leaves and compute the new root without
 * reading any old leaf: O(log n) memory, amortised O(1) hashes per appended leaf.
 * SPEC: transparency-dev/merkle docs/compact_ranges.md; roots per RFC 6962 §2.1.
 */
export class CompactRange {
  private constructor(
    private sizeBig: bigint,
    private readonly frontier: Uint8Array[],
  ) {}

  static empty(): CompactRange {
    return new CompactRange(0n, []);
  }

  /** From frontier hashes the caller holds, e.g. read from tiles at `frontierNodeIds(size)`. */
  static fromHashes(size: number, hashes: readonly Uint8Array[]): CompactRange {
    assertCount(size, 'size');
    if (hashes.length !== popCount(BigInt(size))) {
      throw new LedgerCoreError(
        LedgerErrorCode.INVALID_COMPACT_RANGE,
        `a tree of size ${size} has ${popCount(BigInt(size))} frontier hashes, got ${hashes.length}`,
      );
    }
    hashes.forEach((hash, i) => assertHash(hash, `hashes[${i}]`));
    return new CompactRange(
      BigInt(size),
      hashes.map((hash) => hash.slice()),
    );
  }

  /** Restores a range persisted with `toState()`. Throws on a malformed state: storage we wrote is trusted. */
  static fromState(state: CompactRangeState): CompactRange {
    if (!isCount(state.size) || !Array.isArray(state.hashes)) {
      throw new LedgerCoreError(LedgerErrorCode.INVALID_COMPACT_RANGE, 'state must be { size, hashes[] }');
    }
    const hashes = (state.hashes as readonly unknown[]).map((text, i) => {
      const bytes = typeof text === 'string' ? fromBase64(text, HASH_SIZE) : undefined;
      if (!bytes) {
        throw new LedgerCoreError(LedgerErrorCode.INVALID_COMPACT_RANGE, `hashes[${i}] is not a base64 hash`);
      }
      return bytes;
    });
    return CompactRange.fromHashes(state.size, hashes);
  }

  get size(): number {
    return Number(this.sizeBig);
  }

  /** Copies of the frontier hashes, highest level first. */
  get hashes(): Uint8Array[] {
    return this.frontier.map((hash) => hash.slice());
  }

  append(leafHash: Uint8Array): void {
    assertHash(leafHash, 'leafHash');
    if (this.sizeBig >= BigInt(MAX_TREE_SIZE)) {
      throw new LedgerCoreError(LedgerErrorCode.INVALID_ARGUMENT, 'tree size would exceed 2^53 - 1');
    }
    // Like incrementing a binary counter: every trailing 1 bit of size is a perfect subtree of the same height as
    // the carry, so they merge; the carry then lands where the lowest 0 bit was.
    let carry: Uint8Array = leafHash.slice();
    for (let s = this.sizeBig; (s & 1n) === 1n; s >>= 1n) {
      carry = nodeHash(this.frontier.pop() as Uint8Array, carry);
    }
    this.frontier.push(carry);
    this.sizeBig += 1n;
  }

  appendMany(leafHashes: Iterable<Uint8Array>): void {
    for (const hash of leafHashes) this.append(hash);
  }

  /** SPEC: RFC 6962 §2.1: the MTH of the leaves appended so far; SHA-256("") when empty. */
  root(): Uint8Array {
    return rootFromFrontier(this.frontier);
  }

  toState(): CompactRangeState {
    return { size: this.size, hashes: this.frontier.map(toBase64) };
  }

  clone(): CompactRange {
    return new CompactRange(this.sizeBig, this.hashes);
  }
}

import { LedgerCoreError, LedgerErrorCode } from './errors';
import { emptyRootHash, nodeHash } from './hash';
import { assertCount, assertHash } from './merkle';
import type { NodeId } from './tree-math';

/**
 * A whole Merkle tree in memory: every leaf hash and every perfect-subtree hash, level by level. For tests, tools
 * and small trees; a service stores tiles instead (tiles.ts). Proofs follow the recursive definitions of
 * RFC 9162 §2.1.3.1 (PATH) and §2.1.4.1 (SUBPROOF) literally, so they are an independent reference for the
 * node-id based generation in proof.ts.
 *
 * Arrays are indexed by `number` below 2^32, with plain arithmetic and no bitwise operators.
 */
export class MemoryMerkleTree {
  /** levels[L][i] is the hash of the perfect subtree at level L, index i. levels[0] are the leaf hashes. */
  private readonly levels: Uint8Array[][] = [[]];

  constructor(leafHashes: Iterable<Uint8Array> = []) {
    for (const hash of leafHashes) this.append(hash);
  }

  get size(): number {
    return (this.levels[0] as Uint8Array[]).length;
  }

  append(leafHash: Uint8Array): void {
    assertHash(leafHash, 'leafHash');
    let hash: Uint8Array = leafHash.slice();
    for (let level = 0; ; level++) {
      const row = (this.levels[level] ??= []);
      row.push(hash);
      // A node completes its parent when it is a right child (odd index).
      if (row.length % 2 === 1) return;
      hash = nodeHash(row[row.length - 2] as Uint8Array, hash);
    }
  }

  /** The hash of a perfect subtree within the current size. */
  nodeHash(node: NodeId): Uint8Array {
    const hash = this.levels[node.level]?.[node.index];
    if (!hash) throw new LedgerCoreError(LedgerErrorCode.INVALID_ARGUMENT, `no node ${node.level}/${node.index}`);
    return hash;
  }

  /** SPEC: RFC 9162 §2.1.1: MTH of the first `size` leaves. */
  root(size: number = this.size): Uint8Array {
    this.checkSize(size);
    return size === 0 ? emptyRootHash() : this.mth(0, size);
  }

  /** SPEC: RFC 9162 §2.1.3.1: PATH(m, D[0:size]). */
  inclusionProof(index: number, size: number = this.size): Uint8Array[] {
    this.checkSize(size);
    assertCount(index, 'index');
    if (index >= size) throw new LedgerCoreError(LedgerErrorCode.INVALID_ARGUMENT, `index ${index} >= size ${size}`);
    return this.path(index, 0, size);
  }

  /**
   * SPEC: RFC 9162 §2.1.4.1: PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true). Sizes that prove nothing (0 or equal
   * sizes) give an empty proof, matching what verifyConsistency accepts.
   */
  consistencyProof(size1: number, size2: number = this.size): Uint8Array[] {
    this.checkSize(size2);
    assertCount(size1, 'size1');
    if (size1 > size2) throw new LedgerCoreError(LedgerErrorCode.INVALID_ARGUMENT, `size1 ${size1} > size2 ${size2}`);
    if (size1 === 0 || size1 === size2) return [];
    return this.subproof(size1, 0, size2, true);
  }

  private checkSize(size: number): void {
    assertCount(size, 'size');
    if (size > this.size) throw new LedgerCoreError(LedgerErrorCode.INVALID_ARGUMENT, `size ${size} > ${this.size}`);
  }

  /** MTH(D[begin:end]). In the recursion every left part is a perfect, aligned subtree: one table lookup. */
  private mth(begin: number, end: number): Uint8Array {
    const n = end - begin;
    const k = splitPoint(n);
    if (k === n) {
      let level = 0;
      while (2 ** level < n) level++;
      return this.levels[level]?.[begin / n] as Uint8Array;
    }
    return nodeHash(this.mth(begin, begin + k), this.mth(begin + k, end));
  }

  private path(m: number, begin: number, end: number): Uint8Array[] {
    const n = end - begin;
    if (n === 1) return [];
    const k = largestPowerBelow(n);
    return m < k
      ? [...this.path(m, begin, begin + k), this.mth(begin + k, end)]
      : [...this.path(m - k, begin + k, end), this.mth(begin, begin + k)];
  }

  private subproof(m: number, begin: number, end: number, known: boolean): Uint8Array[] {
    const n = end - begin;
    if (m === n) return known ? [] : [this.mth(begin, end)];
    const k = largestPowerBelow(n);
    return m <= k
      ? [...this.subproof(m, begin, begin + k, known), this.mth(begin + k, end)]
      : [...this.subproof(m - k, begin + k, end, false), this.mth(begin, begin + k)];
  }
}

/** n itself when n is a power of two, else the largest power of two below n. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 <= n) k *= 2;
  return k;
}

/** SPEC: RFC 9162 §2.1.1: "k is the largest power of two smaller than n". Requires n ≥ 2. */
function largestPowerBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

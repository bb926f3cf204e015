/**
 * Index arithmetic for Merkle trees, tiles and proofs.
 *
 * Decision: all index and size arithmetic runs on `bigint`. JavaScript's bitwise operators truncate numbers to 32
 * bits, and a log that seals every event of several services passes 2^32 leaves; bigint keeps the bit tricks of
 * the reference implementations (XOR, shifts, popcount) exact at any size. The public, JSON-facing API takes and
 * returns `number` (sizes, indexes, node ids), which is exact up to 2^53 − 1 (`MAX_TREE_SIZE`); values are
 * checked with `Number.isSafeInteger` at the boundary and converted once. The cost is negligible next to SHA-256:
 * each proof does O(log n) bigint steps.
 */

/** A perfect subtree: `level` L covers leaves [index·2^L, (index+1)·2^L). Level 0 nodes are leaves. */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** Largest tree size (and leaf index + 1) the `number`-typed API can carry exactly. */
export const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER;

/** Deepest level a node of a tree of at most MAX_TREE_SIZE leaves can have. */
export const MAX_LEVEL = 53;

/** @internal A node id in exact arithmetic. */
export interface BigNode {
  readonly level: number;
  readonly index: bigint;
}

export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function toNodeId(node: BigNode): NodeId {
  return { level: node.level, index: Number(node.index) };
}

export function isNodeId(value: unknown): value is NodeId {
  if (typeof value !== 'object' || value === null) return false;
  const { level, index } = value as { level?: unknown; index?: unknown };
  return isCount(level) && level <= MAX_LEVEL && isCount(index);
}

/** Number of significant bits: 0 for 0, 1 for 1, 3 for 5. Requires x ≥ 0. */
export function bitLength(x: bigint): number {
  let length = 0;
  // Whole 32-bit steps first keep this O(log n / 32) for big values.
  while (x >= 0x1_0000_0000n) {
    x >>= 32n;
    length += 32;
  }
  while (x > 0n) {
    x >>= 1n;
    length++;
  }
  return length;
}

/** Count of trailing zero bits. Requires x > 0. */
export function trailingZeros(x: bigint): number {
  let count = 0;
  while ((x & 1n) === 0n) {
    x >>= 1n;
    count++;
  }
  return count;
}

export function popCount(x: bigint): number {
  let count = 0;
  while (x > 0n) {
    x &= x - 1n;
    count++;
  }
  return count;
}

export function isPowerOfTwo(x: bigint): boolean {
  return x > 0n && (x & (x - 1n)) === 0n;
}

/** Largest power of two strictly below n (n ≥ 2): RFC 6962's split point k. */
export function largestPowerOfTwoBelow(n: bigint): bigint {
  return 1n << BigInt(bitLength(n - 1n) - 1);
}

// SPEC: transparency-dev/merkle compact.Decompose. Splits [begin, end) into the fewest aligned power-of-two
// ranges, as two bitmasks: `left` bits in low-to-high order, then `right` bits in high-to-low order.
function decompose(begin: bigint, end: bigint): [bigint, bigint] {
  if (begin === 0n) return [0n, end];
  const xbegin = begin - 1n;
  // Only nodes strictly below the point where the paths to leaves begin-1 and end diverge lie in the range.
  const d = bitLength(xbegin ^ end) - 1;
  const mask = (1n << BigInt(d)) - 1n;
  return [~xbegin & mask, end & mask];
}

/** Number of perfect subtrees in the compact range [begin, end). */
export function rangeSize(begin: bigint, end: bigint): number {
  const [left, right] = decompose(begin, end);
  return popCount(left) + popCount(right);
}

/**
 * The perfect subtrees that exactly cover [begin, end), ordered left to right.
 * SPEC: transparency-dev/merkle compact.RangeNodes.
 */
export function rangeNodes(begin: bigint, end: bigint): BigNode[] {
  let [left, right] = decompose(begin, end);
  const nodes: BigNode[] = [];
  let pos = begin;
  // Left border: levels grow from low to high.
  while (left !== 0n) {
    const level = trailingZeros(left);
    const bit = 1n << BigInt(level);
    nodes.push({ level, index: pos >> BigInt(level) });
    pos += bit;
    left ^= bit;
  }
  // Right border: levels shrink from high to low.
  while (right !== 0n) {
    const level = bitLength(right) - 1;
    const bit = 1n << BigInt(level);
    nodes.push({ level, index: pos >> BigInt(level) });
    pos += bit;
    right ^= bit;
  }
  return nodes;
}

import { bytesEqual } from './encoding';
import { leafHash, nodeHash } from './hash';
import { CompactRange, frontierNodeIds } from './merkle';
import { assembleProof, consistencyProofNodes, inclusionProofNodes, verifyConsistency, verifyInclusion } from './proof';
import { consistencyLength, consistencyRootsRfc, inclusionLength, inclusionRootRfc } from './proof-core';
import { bitLength } from './tree-math';

/**
 * Trees of 2^33 … 2^53 − 1 leaves cannot be built, so these tests run the proof algorithms over a symbolic hash:
 * a string that spells out the exact tree shape. `P<level>.<index>` is a perfect subtree; combining two sibling
 * perfect subtrees gives their parent, anything else gives `(<left>,<right>)`. Two symbolic roots are equal only
 * if they were built from the same nodes in the same shape, so any index, order or off-by-one error in the
 * node-id arithmetic shows up as a different string.
 */
type Sym = string;
const perfect = (level: number, index: bigint): Sym => `P${level}.${index}`;
const PERFECT = /^P(\d+)\.(\d+)$/;

function symNode(left: Sym, right: Sym): Sym {
  const l = PERFECT.exec(left);
  const r = PERFECT.exec(right);
  if (l && r && l[1] === r[1]) {
    const [li, ri] = [BigInt(l[2] as string), BigInt(r[2] as string)];
    if (li % 2n === 0n && ri === li + 1n) return perfect(Number(l[1]) + 1, li / 2n);
  }
  return `(${left},${right})`;
}

// The RFC 9162 §2.1 definitions over symbolic hashes, with exact bigint ranges.
function largestPowerBelow(n: bigint): bigint {
  return 1n << BigInt(bitLength(n - 1n) - 1);
}
function mth(begin: bigint, end: bigint): Sym {
  const n = end - begin;
  if ((n & (n - 1n)) === 0n && begin % n === 0n) return perfect(bitLength(n) - 1, begin / n);
  const k = largestPowerBelow(n);
  return symNode(mth(begin, begin + k), mth(begin + k, end));
}
function path(m: bigint, begin: bigint, end: bigint): Sym[] {
  if (end - begin === 1n) return [];
  const k = largestPowerBelow(end - begin);
  return m < k
    ? [...path(m, begin, begin + k), mth(begin + k, end)]
    : [...path(m - k, begin + k, end), mth(begin, begin + k)];
}
function subproof(m: bigint, begin: bigint, end: bigint, known: boolean): Sym[] {
  const n = end - begin;
  if (m === n) return known ? [] : [mth(begin, end)];
  const k = largestPowerBelow(n);
  return m <= k
    ? [...subproof(m, begin, begin + k, known), mth(begin + k, end)]
    : [...subproof(m - k, begin + k, end, false), mth(begin, begin + k)];
}

const MAX = Number.MAX_SAFE_INTEGER;
const INCLUSION_CASES: [index: number, size: number][] = [
  [0, 2 ** 33],
  [2 ** 32 - 1, 2 ** 32 + 1],
  [2 ** 32, 2 ** 33 + 5],
  [2 ** 33 + 7, 2 ** 33 + 8],
  [2 ** 33 + 12345, 2 ** 40 + 12345],
  [2 ** 40 - 1, 2 ** 40 + 1],
  [2 ** 40, 2 ** 40 + 1],
  [2 ** 40 + 255, 2 ** 40 + 257],
  [1234567, 2 ** 40 + 3 * 2 ** 33 + 17],
  [2 ** 52 + 1, MAX],
  [MAX - 1, MAX],
  [0, MAX],
];
const CONSISTENCY_CASES: [size1: number, size2: number][] = [
  [2 ** 32, 2 ** 33],
  [2 ** 32 + 1, 2 ** 33 + 1],
  [2 ** 33 - 1, 2 ** 33],
  [2 ** 33 + 5, 2 ** 40 + 12345],
  [2 ** 40, 2 ** 40 + 1],
  [2 ** 40 + 1, 2 ** 40 + 2],
  [3 * 2 ** 33 + 17, 2 ** 40 + 3 * 2 ** 33 + 17],
  [1, MAX],
  [MAX - 1, MAX],
  [2 ** 52, MAX],
];

describe('proofs beyond 2^32 leaves (symbolic hashes)', () => {
  it.each(INCLUSION_CASES)('inclusion of %i in size %i equals RFC 9162 PATH and verifies', (index, size) => {
    const nodes = inclusionProofNodes(index, size);
    nodes.ids.forEach((id) => {
      expect(Number.isSafeInteger(id.index)).toBe(true);
      // Every id is a perfect subtree inside the tree.
      expect(BigInt(id.index + 1) * 2n ** BigInt(id.level)).toBeLessThanOrEqual(BigInt(size));
    });
    const hashes = nodes.ids.map((id) => perfect(id.level, BigInt(id.index)));
    const proof = assembleWith(nodes, hashes);
    const [i, n] = [BigInt(index), BigInt(size)];
    expect(proof).toEqual(path(i, 0n, n));
    expect(proof).toHaveLength(inclusionLength(i, n));
    const root = mth(0n, n);
    expect(inclusionRootRfc(symNode, perfect(0, i), i, n, proof)).toBe(root);
    // The wrong leaf position never reproduces the root.
    for (const wrong of [i - 1n, i + 1n, i ^ 2n, i ^ (1n << 32n)]) {
      if (wrong < 0n || wrong >= n || wrong === i) continue;
      expect(inclusionRootRfc(symNode, perfect(0, wrong), wrong, n, proof)).not.toBe(root);
    }
  });

  it.each(CONSISTENCY_CASES)('consistency from %i to %i equals RFC 9162 SUBPROOF and verifies', (size1, size2) => {
    const nodes = consistencyProofNodes(size1, size2);
    const hashes = nodes.ids.map((id) => perfect(id.level, BigInt(id.index)));
    const proof = assembleWith(nodes, hashes);
    const [m, n] = [BigInt(size1), BigInt(size2)];
    expect(proof).toEqual(subproof(m, 0n, n, true));
    expect(proof).toHaveLength(consistencyLength(m, n));
    expect(consistencyRootsRfc(symNode, m, n, proof, mth(0n, m))).toEqual({ first: mth(0n, m), second: mth(0n, n) });
    // A proof for other sizes does not give both roots.
    const other = consistencyRootsRfc(symNode, m + 1n, n, proof, mth(0n, m + 1n));
    expect(other?.second === mth(0n, n) && other.first === mth(0n, m + 1n)).toBe(false);
  });
});

/** assembleProof for symbolic hashes (the public one takes bytes): the same re-hash rule. */
function assembleWith(nodes: ReturnType<typeof inclusionProofNodes>, hashes: Sym[]): Sym[] {
  const { ephemeral } = nodes;
  if (!ephemeral) return hashes;
  let merged = hashes[ephemeral.begin] as Sym;
  for (let k = ephemeral.begin + 1; k < ephemeral.end; k++) merged = symNode(hashes[k] as Sym, merged);
  return [...hashes.slice(0, ephemeral.begin), merged, ...hashes.slice(ephemeral.end)];
}

describe('byte-level proofs beyond 2^32 leaves', () => {
  // A tree whose leaves are all equal has, at each level, one perfect-subtree hash, so real SHA-256 proofs and
  // roots of any size take O(log n) work. (It cannot catch index mistakes; the symbolic tests above do.)
  const leaf = leafHash(new Uint8Array([42]));
  const levels = [leaf];
  for (let level = 1; level <= 53; level++) {
    const below = levels[level - 1] as Uint8Array;
    levels.push(nodeHash(below, below));
  }
  const hashOf = (id: { level: number }): Uint8Array => levels[id.level] as Uint8Array;
  const rootOf = (size: number): Uint8Array => CompactRange.fromHashes(size, frontierNodeIds(size).map(hashOf)).root();

  it.each(INCLUSION_CASES)('inclusion of %i in size %i verifies through the public API', (index, size) => {
    const nodes = inclusionProofNodes(index, size);
    const proof = assembleProof(nodes, nodes.ids.map(hashOf));
    expect(verifyInclusion(leaf, index, size, proof, rootOf(size))).toEqual({ ok: true });
    expect(verifyInclusion(leaf, index, size, proof.slice(1), rootOf(size))).toMatchObject({
      code: 'LEDGER.PROOF_WRONG_LENGTH',
    });
    if (size > 1) expect(verifyInclusion(leaf, index, size, proof, rootOf(size - 1)).ok).toBe(false);
  });

  it.each(CONSISTENCY_CASES)('consistency from %i to %i verifies through the public API', (size1, size2) => {
    const nodes = consistencyProofNodes(size1, size2);
    const proof = assembleProof(nodes, nodes.ids.map(hashOf));
    const [root1, root2] = [rootOf(size1), rootOf(size2)];
    expect(verifyConsistency(size1, size2, proof, root1, root2)).toEqual({ ok: true });
    expect(verifyConsistency(size1, size2, proof, root2, root1).ok).toBe(bytesEqual(root1, root2));
  });

  it('refuses sizes the number type cannot carry exactly', () => {
    expect(verifyInclusion(leaf, 0, 2 ** 53, [], leaf)).toMatchObject({ code: 'LEDGER.PROOF_INVALID_SIZE' });
    expect(() => inclusionProofNodes(0, 2 ** 53)).toThrow('LEDGER.INVALID_ARGUMENT');
  });
});

import { leafHash } from './hash';
import { MemoryMerkleTree } from './memory-tree';
import { ProvenNodes, verifyInclusion, verifyInclusionRemembering } from './proof';

const leavesOf = (size: number): Uint8Array[] =>
  Array.from({ length: size }, (_, i) => leafHash(Buffer.from(`leaf ${i} of ${size}`)));

/** A deterministic shuffle (the order in which a consumer sees a batch's events is any order). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const copy = [...items];
  let state = seed;
  for (let i = copy.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

const flipped = (bytes: Uint8Array, bit: number): Uint8Array => {
  const copy = Uint8Array.from(bytes);
  copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
};

describe('verifyInclusionRemembering', () => {
  it.each([1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 31, 33, 100])(
    'accepts every leaf of a tree of %i, in order and shuffled, and learns its nodes',
    (size) => {
      const leaves = leavesOf(size);
      const tree = new MemoryMerkleTree(leaves);
      for (const order of [
        leaves.map((_, i) => i),
        shuffled(
          leaves.map((_, i) => i),
          size,
        ),
      ]) {
        const proven = new ProvenNodes(size, tree.root());
        for (const index of order) {
          expect(verifyInclusionRemembering(leaves[index]!, index, tree.inclusionProof(index), proven)).toEqual({
            ok: true,
          });
        }
        if (size > 1) expect(proven.count).toBeGreaterThan(0);
      }
    },
  );

  it('gives the same verdict as verifyInclusion for every tamper, however much it has learned', () => {
    for (const size of [2, 3, 5, 8, 11, 16, 21]) {
      const leaves = leavesOf(size);
      const tree = new MemoryMerkleTree(leaves);
      const root = tree.root();
      for (const warm of [0, Math.floor(size / 2), size]) {
        const proven = new ProvenNodes(size, root);
        // Learn the first `warm` leaves' paths, then probe every leaf with every kind of wrong proof.
        for (let i = 0; i < warm; i++) verifyInclusionRemembering(leaves[i]!, i, tree.inclusionProof(i), proven);
        for (let index = 0; index < size; index++) {
          const proof = tree.inclusionProof(index);
          const leaf = leaves[index]!;
          const probes: Array<[Uint8Array, number, Uint8Array[]]> = [
            [leaf, (index + 1) % size, proof],
            [leaves[(index + 1) % size]!, index, proof],
            [flipped(leaf, index % 256), index, proof],
            [leaf, index, [...proof, root]],
            [leaf, index, proof.slice(1)],
            [leaf, index, [...proof].reverse()],
            [leaf, size, proof],
            ...proof.map((_, k): [Uint8Array, number, Uint8Array[]] => [
              leaf,
              index,
              proof.map((element, j) => (j === k ? flipped(element, (k * 37 + index) % 256) : element)),
            ]),
          ];
          for (const [probeLeaf, probeIndex, probeProof] of probes) {
            const expected = verifyInclusion(probeLeaf, probeIndex, size, probeProof, root);
            expect(verifyInclusionRemembering(probeLeaf, probeIndex, probeProof, proven).ok).toBe(expected.ok);
          }
          expect(verifyInclusionRemembering(leaf, index, proof, proven)).toEqual({ ok: true });
        }
      }
    }
  });

  it('rejects a proof against another tree than the one its nodes were learned in', () => {
    const leaves = leavesOf(12);
    const tree = new MemoryMerkleTree(leaves);
    const other = new MemoryMerkleTree(leavesOf(13));
    const proven = new ProvenNodes(12, other.root());
    expect(verifyInclusionRemembering(leaves[3]!, 3, tree.inclusionProof(3), proven)).toMatchObject({ ok: false });
    expect(proven.count).toBe(0);
  });

  it('stops hashing at the first proven node: a batch of 128 in order costs ~2 node hashes per leaf, not 7', () => {
    const leaves = leavesOf(128);
    const tree = new MemoryMerkleTree(leaves);
    const proofs = leaves.map((_, i) => tree.inclusionProof(i));
    const proven = new ProvenNodes(128, tree.root());
    leaves.forEach((leaf, i) => expect(verifyInclusionRemembering(leaf, i, proofs[i]!, proven).ok).toBe(true));
    // verifyInclusion hashes 7 nodes per leaf (896); here the first leaf walks all 7 levels and each later one stops
    // at its parent or a little higher: each of the tree's 127 interior nodes is hashed about twice at most.
    expect(proven.hashesComputed).toBeLessThanOrEqual(2 * 128);
    expect(proven.hashesComputed).toBeGreaterThanOrEqual(127);
  });
});

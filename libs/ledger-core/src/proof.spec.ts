import { fromHex, toHex, utf8 } from './encoding';
import { LedgerCoreError } from './errors';
import { EMPTY_ROOT, leafHash, sha256 } from './hash';
import { MemoryMerkleTree } from './memory-tree';
import {
  assembleProof,
  consistencyProofFromLeaves,
  consistencyProofNodes,
  inclusionProofFromLeaves,
  inclusionProofNodes,
  type ProofNodes,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from './proof';

const hex = (text: string): Uint8Array => fromHex(text) as Uint8Array;
const hexes = (proof: readonly Uint8Array[]): string[] => proof.map(toHex);

// transparency-dev/merkle proof/verify_test.go: leaves, roots (by size 1..8), inclusionProofs (1-based leaf
// numbers there, 0-based indexes here) and consistencyProofs.
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(
  (data) => leafHash(hex(data)),
);
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
].map(hex);
const rootOf = (size: number): Uint8Array => ROOTS[size - 1] as Uint8Array;

const INCLUSION_KATS: [index: number, size: number, proof: string[]][] = [
  [0, 1, []],
  [
    0,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    5,
    8,
    [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [
    1,
    5,
    [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
];

const CONSISTENCY_KATS: [size1: number, size2: number, proof: string[]][] = [
  [1, 1, []],
  [
    1,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    6,
    8,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [
    2,
    5,
    [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
  [
    6,
    7,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
];

const SOME_HASH = hex('abacaba000000000000000000000000000000000000000000060061e00123456');

function flipBit(bytes: Uint8Array, byte: number, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[byte] = (copy[byte] as number) ^ (1 << bit);
  return copy;
}

/** Proof hashes for `nodes` from a tree that stores every perfect subtree. */
function fromNodes(tree: MemoryMerkleTree, nodes: ProofNodes): Uint8Array[] {
  return assembleProof(
    nodes,
    nodes.ids.map((id) => tree.nodeHash(id)),
  );
}

// Not probed: size ± 1 with the same root. Neighbouring sizes can share the path's shape (leaf 0 in sizes 7 and
// 8), so the same hashes chain to the same root. That is sound: a root is only ever trusted together with its size
// (a signed checkpoint or block header), and the root of size 7 differs from the root of size 8.

/** Variants of a proof that must all fail: after transparency-dev/merkle corruptInclusionProof, and more. */
function tamperedProofs(proof: Uint8Array[], root: Uint8Array): [string, Uint8Array[]][] {
  const probes: [string, Uint8Array[]][] = [
    ['trailing empty element', [...proof, new Uint8Array()]],
    ['trailing root', [...proof, root]],
    ['trailing hash', [...proof, SOME_HASH]],
    ['preceding empty element', [new Uint8Array(), ...proof]],
    ['preceding root', [root, ...proof]],
  ];
  proof.forEach((_, i) => {
    for (const [byte, bit] of [
      [0, 3],
      [31, 0],
      [17, 7],
    ] as const) {
      probes.push([`proof[${i}] byte ${byte} bit ${bit}`, proof.map((h, j) => (j === i ? flipBit(h, byte, bit) : h))]);
    }
    probes.push([`proof[${i}] removed`, proof.filter((_, j) => j !== i)]);
    probes.push([`hash inserted before proof[${i}]`, [...proof.slice(0, i), SOME_HASH, ...proof.slice(i)]]);
    probes.push([`proof[${i}] duplicated`, [...proof.slice(0, i + 1), ...proof.slice(i)]]);
  });
  for (let i = 0; i + 1 < proof.length; i++) {
    const swapped = [...proof];
    [swapped[i], swapped[i + 1]] = [swapped[i + 1] as Uint8Array, swapped[i] as Uint8Array];
    probes.push([`proof[${i}] and proof[${i + 1}] swapped`, swapped]);
  }
  if (proof.length > 2) probes.push(['reversed', [...proof].reverse()]);
  return probes;
}

function expectInclusionTamperingFails(leaf: Uint8Array, index: number, size: number, proof: Uint8Array[]): void {
  const root = rootFromInclusionProof(leaf, index, size, proof);
  if (!root.ok) throw new Error(`untampered proof failed: ${root.reason}`);
  const r = root.root;
  const cases: [string, ReturnType<typeof verifyInclusion>][] = [
    ['index - 1', verifyInclusion(leaf, index - 1, size, proof, r)],
    ['index + 1', verifyInclusion(leaf, index + 1, size, proof, r)],
    ['index ± 2', verifyInclusion(leaf, index % 4 < 2 ? index + 2 : index - 2, size, proof, r)],
    ['size * 2', verifyInclusion(leaf, index, size * 2, proof, r)],
    ['size / 2', verifyInclusion(leaf, index, Math.floor(size / 2), proof, r)],
    ['leaf bit 0', verifyInclusion(flipBit(leaf, 0, 0), index, size, proof, r)],
    ['leaf bit 255', verifyInclusion(flipBit(leaf, 31, 7), index, size, proof, r)],
    ['leaf of another string', verifyInclusion(leafHash(utf8('WrongLeaf')), index, size, proof, r)],
    ['root bit 0', verifyInclusion(leaf, index, size, proof, flipBit(r, 0, 0))],
    ['root bit 255', verifyInclusion(leaf, index, size, proof, flipBit(r, 31, 7))],
    ['empty tree root', verifyInclusion(leaf, index, size, proof, EMPTY_ROOT)],
    ['some root', verifyInclusion(leaf, index, size, proof, SOME_HASH)],
    ...tamperedProofs(proof, r).map(([name, bad]): [string, ReturnType<typeof verifyInclusion>] => [
      name,
      verifyInclusion(leaf, index, size, bad, r),
    ]),
  ];
  const accepted = cases.filter(([, verdict]) => verdict.ok).map(([name]) => name);
  expect(accepted).toEqual([]);
}

function expectConsistencyTamperingFails(
  size1: number,
  size2: number,
  proof: Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  expect(verifyConsistency(size1, size2, proof, root1, root2)).toEqual({ ok: true });
  const cases: [string, ReturnType<typeof verifyConsistency>][] = [
    ['size1 - 1', verifyConsistency(size1 - 1, size2, proof, root1, root2)],
    ['size1 + 1', verifyConsistency(size1 + 1, size2, proof, root1, root2)],
    ['size1 ± 2', verifyConsistency(size1 % 4 < 2 ? size1 + 2 : size1 - 2, size2, proof, root1, root2)],
    ['size2 * 2', verifyConsistency(size1, size2 * 2, proof, root1, root2)],
    ['size2 / 2', verifyConsistency(size1, Math.floor(size2 / 2), proof, root1, root2)],
    ['root1 bit 0', verifyConsistency(size1, size2, proof, flipBit(root1, 0, 0), root2)],
    ['root1 bit 255', verifyConsistency(size1, size2, proof, flipBit(root1, 31, 7), root2)],
    ['root2 bit 0', verifyConsistency(size1, size2, proof, root1, flipBit(root2, 0, 0))],
    ['root2 bit 255', verifyConsistency(size1, size2, proof, root1, flipBit(root2, 31, 7))],
    ['swapped roots', verifyConsistency(size1, size2, proof, root2, root1)],
    ['same root twice (new)', verifyConsistency(size1, size2, proof, root2, root2)],
    ['same root twice (old)', verifyConsistency(size1, size2, proof, root1, root1)],
    ['empty proof', verifyConsistency(size1, size2, [], root1, root2)],
    ['trailing root1', verifyConsistency(size1, size2, [...proof, root1], root1, root2)],
    ['trailing root2', verifyConsistency(size1, size2, [...proof, root2], root1, root2)],
    ['preceding root1', verifyConsistency(size1, size2, [root1, ...proof], root1, root2)],
    ['preceding root2', verifyConsistency(size1, size2, [root2, ...proof], root1, root2)],
    ...tamperedProofs(proof, root2).map(([name, bad]): [string, ReturnType<typeof verifyConsistency>] => [
      name,
      verifyConsistency(size1, size2, bad, root1, root2),
    ]),
  ];
  const accepted = cases.filter(([, verdict]) => verdict.ok).map(([name]) => name);
  expect(accepted).toEqual([]);
}

describe('known-answer proofs of the reference tree (transparency-dev/merkle proof/verify_test.go)', () => {
  const tree = new MemoryMerkleTree(LEAVES);

  it.each(INCLUSION_KATS)('inclusion of leaf %i in size %i', (index, size, proof) => {
    expect(hexes(tree.inclusionProof(index, size))).toEqual(proof);
    expect(hexes(inclusionProofFromLeaves(LEAVES, index, size))).toEqual(proof);
    expect(hexes(fromNodes(tree, inclusionProofNodes(index, size)))).toEqual(proof);
    const leaf = LEAVES[index] as Uint8Array;
    expect(verifyInclusion(leaf, index, size, proof.map(hex), rootOf(size))).toEqual({ ok: true });
    if (proof.length > 0) expectInclusionTamperingFails(leaf, index, size, proof.map(hex));
  });

  it.each(CONSISTENCY_KATS)('consistency from size %i to %i', (size1, size2, proof) => {
    expect(hexes(tree.consistencyProof(size1, size2))).toEqual(proof);
    expect(hexes(consistencyProofFromLeaves(LEAVES, size1, size2))).toEqual(proof);
    expect(hexes(fromNodes(tree, consistencyProofNodes(size1, size2)))).toEqual(proof);
    expect(verifyConsistency(size1, size2, proof.map(hex), rootOf(size1), rootOf(size2))).toEqual({ ok: true });
    if (proof.length > 0) expectConsistencyTamperingFails(size1, size2, proof.map(hex), rootOf(size1), rootOf(size2));
  });

  it('every proof of every size of the reference tree verifies and resists every tamper probe', () => {
    for (let size = 1; size <= 8; size++) {
      for (let index = 0; index < size; index++) {
        const proof = fromNodes(tree, inclusionProofNodes(index, size));
        expect(hexes(proof)).toEqual(hexes(tree.inclusionProof(index, size)));
        const leaf = LEAVES[index] as Uint8Array;
        expect(verifyInclusion(leaf, index, size, proof, rootOf(size))).toEqual({ ok: true });
        if (proof.length > 0) expectInclusionTamperingFails(leaf, index, size, proof);
      }
      for (let size1 = 1; size1 < size; size1++) {
        const proof = fromNodes(tree, consistencyProofNodes(size1, size));
        expect(hexes(proof)).toEqual(hexes(tree.consistencyProof(size1, size)));
        expectConsistencyTamperingFails(size1, size, proof, rootOf(size1), rootOf(size));
      }
    }
  });
});

describe('proof node ids (transparency-dev/merkle proof/proof_test.go)', () => {
  type Ids = [level: number, index: number][];
  type Ephemeral = [begin: number, end: number, node: [number, number]] | null;
  const ids = (nodes: ProofNodes): Ids => nodes.ids.map((id) => [id.level, id.index]);
  const ephemeral = (nodes: ProofNodes): Ephemeral =>
    nodes.ephemeral && [
      nodes.ephemeral.begin,
      nodes.ephemeral.end,
      [nodes.ephemeral.node.level, nodes.ephemeral.node.index],
    ];

  // The ephemeral node (not in the Go tables) is the right-border node the re-hashed range stands for.
  it.each<[number, number, Ids, Ephemeral]>([
    [0, 1, [], null],
    [0, 2, [[0, 1]], null],
    [1, 2, [[0, 0]], null],
    [
      1,
      3,
      [
        [0, 0],
        [0, 2],
      ],
      null,
    ],
    [
      0,
      7,
      [
        [0, 1],
        [1, 1],
        [0, 6],
        [1, 2],
      ],
      [2, 4, [2, 1]],
    ],
    [
      1,
      7,
      [
        [0, 0],
        [1, 1],
        [0, 6],
        [1, 2],
      ],
      [2, 4, [2, 1]],
    ],
    [
      2,
      7,
      [
        [0, 3],
        [1, 0],
        [0, 6],
        [1, 2],
      ],
      [2, 4, [2, 1]],
    ],
    [
      3,
      7,
      [
        [0, 2],
        [1, 0],
        [0, 6],
        [1, 2],
      ],
      [2, 4, [2, 1]],
    ],
    [
      4,
      7,
      [
        [0, 5],
        [0, 6],
        [2, 0],
      ],
      null,
    ],
    [
      5,
      7,
      [
        [0, 4],
        [0, 6],
        [2, 0],
      ],
      null,
    ],
    [
      6,
      7,
      [
        [1, 2],
        [2, 0],
      ],
      null,
    ],
    [
      2,
      4,
      [
        [0, 3],
        [1, 0],
      ],
      null,
    ],
    [
      3,
      5,
      [
        [0, 2],
        [1, 0],
        [0, 4],
      ],
      null,
    ],
    [
      3,
      6,
      [
        [0, 2],
        [1, 0],
        [1, 2],
      ],
      null,
    ],
    [
      4,
      6,
      [
        [0, 5],
        [2, 0],
      ],
      null,
    ],
    [
      10,
      15,
      [
        [0, 11],
        [1, 4],
        [0, 14],
        [1, 6],
        [3, 0],
      ],
      [2, 4, [2, 3]],
    ],
    [
      24,
      31,
      [
        [0, 25],
        [1, 13],
        [0, 30],
        [1, 14],
        [3, 2],
        [4, 0],
      ],
      [2, 4, [2, 7]],
    ],
    [
      81,
      95,
      [
        [0, 80],
        [1, 41],
        [2, 21],
        [0, 94],
        [1, 46],
        [2, 22],
        [4, 4],
        [6, 0],
      ],
      [3, 6, [3, 11]],
    ],
  ])('inclusion of %i in size %i', (index, size, want, wantEphemeral) => {
    const nodes = inclusionProofNodes(index, size);
    expect(ids(nodes)).toEqual(want);
    expect(ephemeral(nodes)).toEqual(wantEphemeral);
  });

  it.each<[number, number, Ids, Ephemeral]>([
    [1, 2, [[0, 1]], null],
    [
      1,
      4,
      [
        [0, 1],
        [1, 1],
      ],
      null,
    ],
    [
      1,
      6,
      [
        [0, 1],
        [1, 1],
        [1, 2],
      ],
      null,
    ],
    [2, 3, [[0, 2]], null],
    [
      2,
      8,
      [
        [1, 1],
        [2, 1],
      ],
      null,
    ],
    [
      3,
      7,
      [
        [0, 2],
        [0, 3],
        [1, 0],
        [0, 6],
        [1, 2],
      ],
      [3, 5, [2, 1]],
    ],
    [
      4,
      7,
      [
        [0, 6],
        [1, 2],
      ],
      [0, 2, [2, 1]],
    ],
    [
      5,
      7,
      [
        [0, 4],
        [0, 5],
        [0, 6],
        [2, 0],
      ],
      null,
    ],
    [
      6,
      7,
      [
        [1, 2],
        [0, 6],
        [2, 0],
      ],
      null,
    ],
    [
      7,
      8,
      [
        [0, 6],
        [0, 7],
        [1, 2],
        [2, 0],
      ],
      null,
    ],
    [1, 1, [], null],
    [5, 5, [], null],
    [8, 8, [], null],
    [2, 4, [[1, 1]], null],
    [
      3,
      5,
      [
        [0, 2],
        [0, 3],
        [1, 0],
        [0, 4],
      ],
      null,
    ],
    [
      3,
      6,
      [
        [0, 2],
        [0, 3],
        [1, 0],
        [1, 2],
      ],
      null,
    ],
    [4, 6, [[1, 2]], null],
    [
      1,
      7,
      [
        [0, 1],
        [1, 1],
        [0, 6],
        [1, 2],
      ],
      [2, 4, [2, 1]],
    ],
    [
      10,
      15,
      [
        [1, 4],
        [1, 5],
        [0, 14],
        [1, 6],
        [3, 0],
      ],
      [2, 4, [2, 3]],
    ],
    [
      24,
      31,
      [
        [3, 2],
        [0, 30],
        [1, 14],
        [2, 6],
        [4, 0],
      ],
      [1, 4, [3, 3]],
    ],
    [
      81,
      95,
      [
        [0, 80],
        [0, 81],
        [1, 41],
        [2, 21],
        [0, 94],
        [1, 46],
        [2, 22],
        [4, 4],
        [6, 0],
      ],
      [4, 7, [3, 11]],
    ],
  ])('consistency from %i to %i', (size1, size2, want, wantEphemeral) => {
    const nodes = consistencyProofNodes(size1, size2);
    expect(ids(nodes)).toEqual(want);
    expect(ephemeral(nodes)).toEqual(wantEphemeral);
  });

  it('refuses impossible requests with a coded error', () => {
    for (const [index, size] of [
      [0, 0],
      [1, 0],
      [2, 1],
      [8, 7],
      [-1, 3],
      [0.5, 3],
    ] as const) {
      expect(() => inclusionProofNodes(index, size)).toThrow(LedgerCoreError);
    }
    expect(() => consistencyProofNodes(5, 0)).toThrow('LEDGER.INVALID_ARGUMENT');
    expect(() => consistencyProofNodes(9, 8)).toThrow('LEDGER.INVALID_ARGUMENT');
    expect(consistencyProofNodes(0, 5)).toEqual({ ids: [], ephemeral: null });
  });

  it('assembleProof refuses a hash list that does not match the ids', () => {
    const nodes = inclusionProofNodes(0, 7);
    expect(() => assembleProof(nodes, [])).toThrow('LEDGER.INVALID_ARGUMENT');
    expect(() =>
      assembleProof(
        nodes,
        nodes.ids.map(() => new Uint8Array(31)),
      ),
    ).toThrow('LEDGER.INVALID_ARGUMENT');
  });
});

describe('node-id proofs agree with the RFC 9162 recursive definitions', () => {
  const leaves = Array.from({ length: 100 }, (_, i) => leafHash(utf8(`leaf ${i}`)));
  const tree = new MemoryMerkleTree(leaves);

  it('for every inclusion and consistency proof of every size up to 100', () => {
    for (let size = 1; size <= leaves.length; size++) {
      const root = tree.root(size);
      for (let index = 0; index < size; index++) {
        const proof = fromNodes(tree, inclusionProofNodes(index, size));
        expect(hexes(proof)).toEqual(hexes(tree.inclusionProof(index, size)));
        expect(verifyInclusion(leaves[index] as Uint8Array, index, size, proof, root).ok).toBe(true);
      }
      for (let size1 = 0; size1 <= size; size1++) {
        const proof = fromNodes(tree, consistencyProofNodes(size1, size));
        expect(hexes(proof)).toEqual(hexes(tree.consistencyProof(size1, size)));
        expect(verifyConsistency(size1, size, proof, tree.root(size1), root).ok).toBe(true);
      }
    }
  });

  it('tampering is detected on a bigger tree too', () => {
    for (const [index, size] of [
      [0, 100],
      [64, 99],
      [63, 64],
      [97, 98],
    ] as const) {
      expectInclusionTamperingFails(leaves[index] as Uint8Array, index, size, tree.inclusionProof(index, size));
    }
    for (const [size1, size2] of [
      [1, 100],
      [64, 99],
      [98, 99],
      [33, 97],
    ] as const) {
      expectConsistencyTamperingFails(
        size1,
        size2,
        tree.consistencyProof(size1, size2),
        tree.root(size1),
        tree.root(size2),
      );
    }
  });
});

describe('verification edge cases (transparency-dev/merkle TestVerifyInclusion / TestVerifyConsistency)', () => {
  const data = leafHash(utf8('data'));

  it('a one-leaf tree: root = leaf hash, empty proof', () => {
    expect(verifyInclusion(data, 0, 1, [], data)).toEqual({ ok: true });
    expect(verifyInclusion(data, 0, 1, [], new Uint8Array()).ok).toBe(false);
    expect(verifyInclusion(new Uint8Array(), 0, 1, [], data).ok).toBe(false);
  });

  it.each([
    [0, 0],
    [0, 1],
    [1, 0],
    [2, 1],
  ])('index %i, size %i with an empty proof and a mismatched root never verifies', (index, size) => {
    expect(verifyInclusion(SOME_HASH, index, size, [], new Uint8Array()).ok).toBe(false);
    expect(verifyInclusion(new Uint8Array(), index, size, [], EMPTY_ROOT).ok).toBe(false);
    expect(verifyInclusion(SOME_HASH, index, size, [], EMPTY_ROOT).ok).toBe(false);
  });

  it('reports why, with stable codes', () => {
    const root = rootOf(8);
    const proof = INCLUSION_KATS[1]?.[2].map(hex) as Uint8Array[];
    const leaf = LEAVES[0] as Uint8Array;
    expect(verifyInclusion(leaf, 8, 8, proof, root)).toMatchObject({ code: 'LEDGER.PROOF_INDEX_OUT_OF_RANGE' });
    expect(verifyInclusion(leaf, 0, 8, proof.slice(1), root)).toMatchObject({ code: 'LEDGER.PROOF_WRONG_LENGTH' });
    expect(verifyInclusion(leaf, 0, 8, [...proof, root], root)).toMatchObject({ code: 'LEDGER.PROOF_WRONG_LENGTH' });
    expect(verifyInclusion(leaf, 0, 8, proof, SOME_HASH)).toMatchObject({ code: 'LEDGER.PROOF_ROOT_MISMATCH' });
    expect(verifyInclusion(leaf, 0, 8, [new Uint8Array(3), ...proof.slice(1)], root)).toMatchObject({
      code: 'LEDGER.PROOF_MALFORMED_HASH',
    });
    expect(verifyInclusion(leaf, 0, 2 ** 53, proof, root)).toMatchObject({ code: 'LEDGER.PROOF_INVALID_SIZE' });
    expect(verifyConsistency(8, 6, [], rootOf(8), rootOf(6))).toMatchObject({ code: 'LEDGER.PROOF_SIZE_ORDER' });
    expect(verifyConsistency(6, 8, [], rootOf(6), rootOf(8))).toMatchObject({ code: 'LEDGER.PROOF_WRONG_LENGTH' });
    const proof68 = CONSISTENCY_KATS[2]?.[2].map(hex) as Uint8Array[];
    expect(verifyConsistency(6, 8, proof68, SOME_HASH, rootOf(8))).toMatchObject({
      code: 'LEDGER.PROOF_OLD_ROOT_MISMATCH',
    });
    expect(verifyConsistency(6, 8, proof68, rootOf(6), SOME_HASH)).toMatchObject({
      code: 'LEDGER.PROOF_ROOT_MISMATCH',
    });
  });

  it('sizes with nothing to prove: equal sizes need equal roots, size 0 needs the empty root', () => {
    const [r1, r2] = [sha256(utf8("don't care 1")), sha256(utf8("don't care 2"))];
    expect(verifyConsistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)).toEqual({ ok: true });
    expect(verifyConsistency(0, 1, [], EMPTY_ROOT, r2)).toEqual({ ok: true });
    expect(verifyConsistency(1, 1, [], r2, r2)).toEqual({ ok: true });
    expect(verifyConsistency(0, 0, [], r1, r1).ok).toBe(false);
    expect(verifyConsistency(0, 1, [], r1, r2).ok).toBe(false);
    expect(verifyConsistency(1, 1, [], r1, r2).ok).toBe(false);
    expect(verifyConsistency(1, 0, [], r1, r2).ok).toBe(false);
    expect(verifyConsistency(2, 1, [], r1, r2).ok).toBe(false);
    expect(verifyConsistency(1, 2, [], r1, r2).ok).toBe(false);
    expect(verifyConsistency(0, 0, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT).ok).toBe(false);
    expect(verifyConsistency(0, 1, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT).ok).toBe(false);
    expect(verifyConsistency(1, 1, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT).ok).toBe(false);
  });

  it('never throws on crafted input', () => {
    const junk: unknown[] = [
      undefined,
      null,
      -1,
      1.5,
      Number.NaN,
      Infinity,
      2 ** 64,
      '3',
      {},
      [],
      [1, 2],
      new Uint8Array(32),
      [new Uint8Array(32)],
      ['AAAA'],
    ];
    for (const a of junk) {
      for (const b of junk) {
        const asBytes = a as Uint8Array;
        const asNumber = b as number;
        const asProof = b as Uint8Array[];
        expect(() => verifyInclusion(asBytes, asNumber, 4, asProof, asBytes)).not.toThrow();
        expect(() => verifyInclusion(SOME_HASH, 1, asNumber, [SOME_HASH], asBytes)).not.toThrow();
        expect(() => rootFromInclusionProof(asBytes, 0, asNumber, asProof)).not.toThrow();
        expect(() => verifyConsistency(asNumber, 4, asProof, asBytes, SOME_HASH)).not.toThrow();
        expect(() => verifyConsistency(1, asNumber, [SOME_HASH], SOME_HASH, asBytes)).not.toThrow();
        expect(verifyInclusion(asBytes, asNumber, 4, asProof, asBytes).ok).toBe(false);
      }
    }
  });
});

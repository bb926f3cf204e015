import { fromHex, toHex, utf8 } from './encoding';
import { LedgerCoreError } from './errors';
import { leafHash, nodeHash } from './hash';
import { MemoryMerkleTree } from './memory-tree';
import { CompactRange, frontierNodeIds, rootFromLeafHashes } from './merkle';

const hex = (text: string): Uint8Array => fromHex(text) as Uint8Array;

// The reference tree of transparency-dev/merkle testonly/constants.go: LeafInputs, RootHashes, NodeHashes and
// CompactTrees (the same eight leaves as RFC 6962's test data in certificate-transparency).
const LEAF_INPUTS = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
];
const LEAVES = LEAF_INPUTS.map((input) => leafHash(hex(input)));
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const NODE_HASHES = [
  [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
    '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
    '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
  ],
  [
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  ],
  [
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ],
  ['5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'],
];
// CompactTrees(): the frontier for each size as (level, index) into NODE_HASHES.
const FRONTIERS: [number, number][][] = [
  [],
  [[0, 0]],
  [[1, 0]],
  [
    [1, 0],
    [0, 2],
  ],
  [[2, 0]],
  [
    [2, 0],
    [0, 4],
  ],
  [
    [2, 0],
    [1, 2],
  ],
  [
    [2, 0],
    [1, 2],
    [0, 6],
  ],
  [[3, 0]],
];

/** Deterministic leaves for bigger trees. */
function leaves(count: number, salt = ''): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => leafHash(utf8(`${salt}${i}`)));
}

describe('rootFromLeafHashes (RFC 6962 §2.1 MTH)', () => {
  it.each(ROOTS.map((root, size) => [size, root] as const))('size %i of the reference tree', (size, root) => {
    expect(toHex(rootFromLeafHashes(LEAVES.slice(0, size)))).toBe(root);
  });

  it('refuses hashes that are not 32 bytes', () => {
    expect(() => rootFromLeafHashes([new Uint8Array(31)])).toThrow(LedgerCoreError);
  });
});

describe('MemoryMerkleTree', () => {
  const tree = new MemoryMerkleTree(LEAVES);

  it('stores every perfect subtree hash of the reference tree (NodeHashes)', () => {
    NODE_HASHES.forEach((row, level) =>
      row.forEach((hash, index) => expect(toHex(tree.nodeHash({ level, index }))).toBe(hash)),
    );
  });

  it('gives the root of every earlier size', () => {
    ROOTS.forEach((root, size) => expect(toHex(tree.root(size))).toBe(root));
  });
});

describe('CompactRange', () => {
  it.each(FRONTIERS.map((frontier, size) => [size, frontier] as const))(
    'after %i reference leaves holds the CompactTrees frontier',
    (size, frontier) => {
      const range = CompactRange.empty();
      range.appendMany(LEAVES.slice(0, size));
      expect(range.size).toBe(size);
      expect(range.hashes.map(toHex)).toEqual(frontier.map(([level, index]) => NODE_HASHES[level]?.[index]));
      expect(toHex(range.root())).toBe(ROOTS[size]);
      expect(frontierNodeIds(size).map(({ level, index }) => [level, index])).toEqual(frontier);
    },
  );

  it('agrees with the recursive MTH for every size up to 1100', () => {
    const all = leaves(1100);
    const range = CompactRange.empty();
    all.forEach((hash, i) => {
      range.append(hash);
      // Checking every size is O(n²) hashing; every size up to 300, then a sample, keeps this fast.
      if (i < 300 || i % 97 === 0 || i === all.length - 1) {
        expect(toHex(range.root())).toBe(toHex(rootFromLeafHashes(all.slice(0, i + 1))));
      }
    });
  });

  it('round-trips through its JSON state and keeps appending identically', () => {
    const all = leaves(777);
    const range = CompactRange.empty();
    range.appendMany(all.slice(0, 500));
    const state = JSON.parse(JSON.stringify(range.toState())) as ReturnType<CompactRange['toState']>;
    expect(state.size).toBe(500);
    expect(state.hashes).toHaveLength(6); // 500 = 0b111110100: one hash per set bit
    expect(state.hashes.length).toBe(frontierNodeIds(500).length);
    const restored = CompactRange.fromState(state);
    restored.appendMany(all.slice(500));
    range.appendMany(all.slice(500));
    expect(toHex(restored.root())).toBe(toHex(range.root()));
    expect(toHex(restored.root())).toBe(toHex(rootFromLeafHashes(all)));
  });

  it('refuses a state whose hash count does not match its size', () => {
    const state = CompactRange.empty().toState();
    expect(() => CompactRange.fromState({ size: 3, hashes: state.hashes })).toThrow('LEDGER.INVALID_COMPACT_RANGE');
    expect(() => CompactRange.fromState({ size: 1, hashes: ['not base64'] })).toThrow('LEDGER.INVALID_COMPACT_RANGE');
    expect(() => CompactRange.fromState({ size: -1, hashes: [] })).toThrow('LEDGER.INVALID_COMPACT_RANGE');
  });

  it('clone is independent of the original', () => {
    const range = CompactRange.empty();
    range.appendMany(leaves(5));
    const copy = range.clone();
    copy.append(leafHash(utf8('x')));
    expect(range.size).toBe(5);
    expect(copy.size).toBe(6);
  });

  it('handles sizes beyond 2^32: a frontier restored at 2^40 + 3 merges the carries correctly', () => {
    const size = 2 ** 40 + 3;
    expect(frontierNodeIds(size)).toEqual([
      { level: 40, index: 0 },
      { level: 1, index: 2 ** 39 },
      { level: 0, index: 2 ** 40 + 2 },
    ]);
    const [a, b, c] = leaves(3, 'frontier');
    const range = CompactRange.fromHashes(size, [a, b, c] as Uint8Array[]);
    const next = leafHash(utf8('next'));
    range.append(next);
    // 2^40 + 4: the level-1 and level-0 subtrees and the new leaf merge into one node at level 2.
    expect(range.size).toBe(2 ** 40 + 4);
    expect(range.hashes.map(toHex)).toEqual([
      toHex(a as Uint8Array),
      toHex(nodeHash(b as Uint8Array, nodeHash(c as Uint8Array, next))),
    ]);
    expect(frontierNodeIds(range.size)).toEqual([
      { level: 40, index: 0 },
      { level: 2, index: 2 ** 38 },
    ]);
  });

  it('refuses to grow beyond 2^53 - 1', () => {
    const range = CompactRange.fromHashes(
      Number.MAX_SAFE_INTEGER,
      frontierNodeIds(Number.MAX_SAFE_INTEGER).map((_, i) => leafHash(utf8(String(i)))),
    );
    expect(() => range.append(leafHash(utf8('one too many')))).toThrow('LEDGER.INVALID_ARGUMENT');
  });
});

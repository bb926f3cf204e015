import { toHex, utf8 } from './encoding';
import { LedgerCoreError } from './errors';
import { EMPTY_ROOT, HASH_SIZE, leafHash, sha256 } from './hash';
import { MemoryMerkleTree } from './memory-tree';
import { CompactRange, frontierNodeIds, rootFromLeafHashes } from './merkle';
import { assembleProof, consistencyProofNodes, inclusionProofNodes, verifyConsistency, verifyInclusion } from './proof';
import {
  appendToTiles,
  fullTileRoot,
  nodeHashesFromTiles,
  nodeHashFromTile,
  nodeHashFromTileNodes,
  parentTileEntry,
  rightEdgeTileRefs,
  rootFromRightEdge,
  type Tile,
  TILE_WIDTH,
  tileForNode,
  tilePath,
  tileNodes,
  tilesForNodes,
} from './tiles';
import type { NodeId } from './tree-math';

/** Small seeded PRNG (mulberry32) so that "random" sizes are the same on every run. */
function prng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function leaves(count: number, from = 0): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => leafHash(utf8(`leaf ${from + i}`)));
}

/** The service's view: one row per (level, index), replaced on upsert. */
class TileStore {
  readonly rows = new Map<string, Tile>();
  size = 0;
  edge: readonly Tile[] = [];
  root: Uint8Array = EMPTY_ROOT;

  append(hashes: readonly Uint8Array[]): ReturnType<typeof appendToTiles> {
    const result = appendToTiles({ treeSize: this.size, rightEdge: this.edge, leafHashes: hashes });
    for (const tile of result.upserts) this.rows.set(`${tile.level}/${tile.index}`, tile);
    this.size = result.treeSize;
    this.edge = result.rightEdge;
    this.root = result.root;
    return result;
  }

  /** Reads what tilesForNodes asks for, cut to the asked width, as a client reading `.p/W` would get. */
  hashesOf(ids: readonly NodeId[]): Uint8Array[] {
    const tiles = tilesForNodes(ids).map((ref) => {
      const row = this.rows.get(`${ref.level}/${ref.index}`);
      if (!row) throw new Error(`missing tile ${ref.level}/${ref.index}`);
      expect(row.width).toBeGreaterThanOrEqual(ref.width);
      return { ...ref, hashes: row.hashes.subarray(0, ref.width * HASH_SIZE) };
    });
    return nodeHashesFromTiles(ids, tiles);
  }
}

const hexes = (list: readonly Uint8Array[]): string[] => list.map(toHex);

describe('tile geometry (C2SP tlog-tiles)', () => {
  it('maps a node to its tile, offset and width', () => {
    expect(tileForNode({ level: 0, index: 0 })).toEqual({ level: 0, index: 0, width: 1 });
    expect(tileForNode({ level: 0, index: 255 })).toEqual({ level: 0, index: 0, width: 256 });
    expect(tileForNode({ level: 0, index: 256 })).toEqual({ level: 0, index: 1, width: 1 });
    expect(tileForNode({ level: 3, index: 5 })).toEqual({ level: 0, index: 0, width: 48 });
    expect(tileForNode({ level: 7, index: 3 })).toEqual({ level: 0, index: 1, width: 256 });
    expect(tileForNode({ level: 8, index: 0 })).toEqual({ level: 1, index: 0, width: 1 });
    expect(tileForNode({ level: 17, index: 1 })).toEqual({ level: 2, index: 0, width: 4 });
    // Beyond 2^32: node (3, 2^40 + 5) spans level-0 entries (2^40 + 5)·8 … +7.
    expect(tileForNode({ level: 3, index: 2 ** 40 + 5 })).toEqual({ level: 0, index: 2 ** 35, width: 48 });
    expect(tileForNode({ level: 40, index: 3 })).toEqual({ level: 5, index: 0, width: 2 ** 0 * 3 + 1 });
  });

  it('names the partial tiles of a tree of 70,000 leaves as the spec does', () => {
    // "273 full level 0 tiles, one partial level 0 tile of width 112, one full level 1 tile, one partial level 1
    // tile of width 17, and one partial level 2 tile of width 1."
    expect(rightEdgeTileRefs(70_000)).toEqual([
      { level: 0, index: 273, width: 112 },
      { level: 1, index: 1, width: 17 },
      { level: 2, index: 0, width: 1 },
    ]);
    // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile of width 1".
    expect(rightEdgeTileRefs(256)).toEqual([{ level: 1, index: 0, width: 1 }]);
    expect(rightEdgeTileRefs(0)).toEqual([]);
  });

  it('builds C2SP tile paths', () => {
    expect(tilePath({ level: 0, index: 1234067, width: 256 })).toBe('tile/0/x001/x234/067');
    expect(tilePath({ level: 1, index: 5, width: 17 })).toBe('tile/1/005.p/17');
    expect(tilePath({ level: 2, index: 1000, width: 256 })).toBe('tile/2/x001/000');
    expect(tilePath({ level: 0, index: 0, width: 1 })).toBe('tile/0/000.p/1');
  });

  it('lists each tile once with the widest width needed', () => {
    expect(
      tilesForNodes([
        { level: 1, index: 2 },
        { level: 0, index: 3 },
        { level: 9, index: 0 },
        { level: 0, index: 300 },
      ]),
    ).toEqual([
      { level: 0, index: 0, width: 6 },
      { level: 0, index: 1, width: 45 },
      { level: 1, index: 0, width: 2 },
    ]);
  });
});

describe('appending blocks to tiles', () => {
  const all = leaves(70_000);
  const memory = new MemoryMerkleTree(all);

  it.each([0, 1, 2, 255, 256, 257, 511, 65535, 65536, 65537, 70_000])(
    'a tree of %i leaves in one block has the MTH root and the spec tiles',
    (size) => {
      const store = new TileStore();
      const result = store.append(all.slice(0, size));
      expect(toHex(result.root)).toBe(toHex(rootFromLeafHashes(all.slice(0, size))));
      expect(toHex(rootFromRightEdge(size, result.rightEdge))).toBe(toHex(result.root));
      expect(result.rightEdge.map(({ level, index, width }) => ({ level, index, width }))).toEqual(
        rightEdgeTileRefs(size),
      );
      // Every stored entry is the hash of the perfect subtree it claims to be.
      for (const tile of store.rows.values()) {
        const expected = Array.from({ length: tile.width }, (_, i) =>
          memory.nodeHash({ level: tile.level * 8, index: tile.index * TILE_WIDTH + i }),
        );
        expect(toHex(tile.hashes)).toBe(hexes(expected).join(''));
      }
      const full = [...store.rows.values()].filter((tile) => tile.width === TILE_WIDTH);
      expect(full).toHaveLength(
        Math.floor(size / 256) + Math.floor(size / 65536) + (size >= 2 ** 24 ? Math.floor(size / 2 ** 24) : 0),
      );
    },
  );

  it('multi-block appends of random sizes: roots, tiles and write counts', () => {
    const random = prng(20261123);
    const store = new TileStore();
    let written = 0;
    while (store.size < all.length) {
      // Mostly small blocks, sometimes big ones that complete several tiles at once.
      const want = random() < 0.1 ? Math.floor(random() * 5000) : Math.floor(random() * 300);
      const count = Math.min(want, all.length - store.size);
      const before = store.size;
      const result = store.append(all.slice(before, before + count));
      expect(toHex(result.root)).toBe(toHex(memory.root(result.treeSize)));
      const newFull = result.upserts.filter((tile) => tile.width === TILE_WIDTH).length;
      const levels = rightEdgeTileRefs(result.treeSize).length;
      expect(result.upserts.length).toBeLessThanOrEqual(newFull + levels);
      expect(new Set(result.upserts.map((t) => `${t.level}/${t.index}`)).size).toBe(result.upserts.length);
      written += result.upserts.length;
    }
    expect(store.size).toBe(70_000);
    expect(toHex(store.root)).toBe(toHex(rootFromLeafHashes(all)));
    // Full tiles are written once: 273 + 1 at levels 0 and 1, plus partials.
    expect(written).toBeGreaterThanOrEqual(274);
  });

  it('an empty block changes nothing', () => {
    const store = new TileStore();
    store.append(all.slice(0, 300));
    const result = store.append([]);
    expect(result.upserts).toEqual([]);
    expect(result.treeSize).toBe(300);
    expect(toHex(result.root)).toBe(toHex(memory.root(300)));
  });

  it('refuses a right edge that does not belong to the stated size', () => {
    const store = new TileStore();
    store.append(all.slice(0, 300));
    const leaf = [leafHash(utf8('x'))];
    expect(() => appendToTiles({ treeSize: 301, rightEdge: store.edge, leafHashes: leaf })).toThrow(
      'LEDGER.TILES_INCONSISTENT',
    );
    expect(() => appendToTiles({ treeSize: 300, rightEdge: [], leafHashes: leaf })).toThrow(
      'LEDGER.TILES_INCONSISTENT',
    );
    expect(() => appendToTiles({ treeSize: 300, rightEdge: [...store.edge, ...store.edge], leafHashes: leaf })).toThrow(
      'LEDGER.TILES_INCONSISTENT',
    );
    expect(() => appendToTiles({ treeSize: 300, rightEdge: store.edge, leafHashes: [new Uint8Array(3)] })).toThrow(
      LedgerCoreError,
    );
  });
});

describe('proofs from tile-derived node hashes', () => {
  it('every inclusion and consistency proof of a small tree built in blocks', () => {
    const all = leaves(300, 1_000_000);
    const memory = new MemoryMerkleTree(all);
    const store = new TileStore();
    const random = prng(7);
    while (store.size < all.length) {
      store.append(all.slice(store.size, Math.min(all.length, store.size + 1 + Math.floor(random() * 40))));
    }
    // Proofs for past sizes come from the latest tiles: entries never change once written.
    const sizes = [...Array.from({ length: 48 }, (_, i) => i + 1), 127, 128, 129, 255, 256, 257, 299, 300];
    for (const size of sizes) {
      const root = memory.root(size);
      for (let index = 0; index < size; index++) {
        const nodes = inclusionProofNodes(index, size);
        const proof = assembleProof(nodes, store.hashesOf(nodes.ids));
        expect(hexes(proof)).toEqual(hexes(memory.inclusionProof(index, size)));
        expect(verifyInclusion(all[index] as Uint8Array, index, size, proof, root)).toEqual({ ok: true });
      }
      for (const size1 of sizes.filter((s) => s <= size)) {
        const nodes = consistencyProofNodes(size1, size);
        const proof = assembleProof(nodes, store.hashesOf(nodes.ids));
        expect(hexes(proof)).toEqual(hexes(memory.consistencyProof(size1, size)));
        expect(verifyConsistency(size1, size, proof, memory.root(size1), root)).toEqual({ ok: true });
      }
      // The root of any past size, from tiles alone.
      const frontier = store.hashesOf(frontierNodeIds(size));
      expect(toHex(CompactRange.fromHashes(size, frontier).root())).toBe(toHex(root));
    }
  });

  it('sampled proofs in a tree of 65,537 leaves built in random blocks', () => {
    const all = leaves(65_537, 5_000_000);
    const memory = new MemoryMerkleTree(all);
    const store = new TileStore();
    const random = prng(42);
    while (store.size < all.length) {
      store.append(all.slice(store.size, Math.min(all.length, store.size + 1 + Math.floor(random() * 3000))));
    }
    const pick = (below: number): number => Math.floor(random() * below);
    for (const size of [65_535, 65_536, 65_537, 1 + pick(65_537)]) {
      const root = memory.root(size);
      const indexes = [0, 255, 256, 65_279, 65_280, size - 1, ...Array.from({ length: 60 }, () => pick(size))];
      for (const index of indexes.filter((i) => i < size)) {
        const nodes = inclusionProofNodes(index, size);
        const proof = assembleProof(nodes, store.hashesOf(nodes.ids));
        expect(hexes(proof)).toEqual(hexes(memory.inclusionProof(index, size)));
        expect(verifyInclusion(all[index] as Uint8Array, index, size, proof, root)).toEqual({ ok: true });
      }
      for (const size1 of [1, 255, 256, 257, 65_535, ...Array.from({ length: 30 }, () => 1 + pick(size))]) {
        if (size1 > size) continue;
        const nodes = consistencyProofNodes(size1, size);
        const proof = assembleProof(nodes, store.hashesOf(nodes.ids));
        expect(hexes(proof)).toEqual(hexes(memory.consistencyProof(size1, size)));
        expect(verifyConsistency(size1, size, proof, memory.root(size1), root)).toEqual({ ok: true });
      }
    }
  });

  it('a node cannot be read from the wrong tile or a tile too narrow', () => {
    const store = new TileStore();
    store.append(leaves(600));
    const tile = store.rows.get('0/1') as Tile;
    expect(() => nodeHashFromTile(tile, 0, 3)).toThrow('LEDGER.TILES_INCONSISTENT');
    const narrow = { ...tile, width: 4, hashes: tile.hashes.subarray(0, 4 * HASH_SIZE) };
    expect(() => nodeHashFromTile(narrow, 3, 32)).toThrow('LEDGER.TILES_INCONSISTENT');
    expect(() => nodeHashesFromTiles([{ level: 0, index: 0 }], [tile])).toThrow('LEDGER.TILE_MISSING');
    expect(() => nodeHashFromTile({ ...tile, width: 3 }, 0, 256)).toThrow(LedgerCoreError);
  });
});

describe('a tile interior computed once (tileNodes)', () => {
  it('holds every node of full and partial tiles at every level, equal to the recomputed hash', () => {
    const store = new TileStore();
    store.append(leaves(256 * 256 + 256 * 3 + 77));
    const tiles = [...store.rows.values()];
    // Full tiles at levels 0 and 1, partial ones of widths 77 (level 0), 3 (level 1) and 1 (level 2).
    expect(
      tiles
        .map((t) => t.width)
        .filter((w) => w < TILE_WIDTH)
        .sort((a, b) => a - b),
    ).toEqual([1, 3, 77]);
    for (const tile of tiles) {
      const interior = tileNodes(tile);
      let expected = 0;
      for (let k = 1; k < 8; k++) expected += Math.floor(tile.width / 2 ** k);
      expect(interior.rows.length).toBe(expected * HASH_SIZE);
      for (let k = 0; k < 8; k++) {
        const span = 2 ** k;
        for (let i = 0; (i + 1) * span <= tile.width; i++) {
          const level = tile.level * 8 + k;
          const index = (tile.index * TILE_WIDTH) / span + i;
          expect(toHex(nodeHashFromTileNodes(interior, level, index))).toBe(
            toHex(nodeHashFromTile(tile, level, index)),
          );
        }
      }
    }
    const full = tileNodes(store.rows.get('0/0') as Tile);
    expect(full.rows.length).toBe(254 * HASH_SIZE);
  });

  it('refuses the wrong tile and a node the tile is too narrow for', () => {
    const store = new TileStore();
    store.append(leaves(600));
    const interior = tileNodes(store.rows.get('0/1') as Tile);
    expect(() => nodeHashFromTileNodes(interior, 0, 3)).toThrow('LEDGER.TILES_INCONSISTENT');
    const edge = tileNodes(store.edge[0] as Tile); // 0/2, width 88
    expect(() => nodeHashFromTileNodes(edge, 7, 4)).toThrow('LEDGER.TILES_INCONSISTENT');
    expect(() => nodeHashFromTileNodes(edge, 3, 64 + 11)).toThrow('LEDGER.TILES_INCONSISTENT');
    expect(toHex(nodeHashFromTileNodes(edge, 3, 64 + 10))).toBe(toHex(nodeHashFromTile(store.edge[0] as Tile, 3, 74)));
    expect(() => tileNodes({ level: 0, index: 0, width: 2, hashes: new Uint8Array(32) })).toThrow(LedgerCoreError);
  });
});

describe('a full tile against the entry above it (fullTileRoot, parentTileEntry)', () => {
  const all = leaves(256 * 256 * 2 + 256 * 5 + 9);
  const store = new TileStore();
  store.append(all);
  const entryOf = (tile: Tile): string => {
    const { level, index, entry } = parentTileEntry(tile);
    const above = store.rows.get(`${level}/${index}`) as Tile;
    return toHex(above.hashes.subarray(entry * HASH_SIZE, (entry + 1) * HASH_SIZE));
  };

  it('finds every full tile root, at levels 0 and 1, in the tile above', () => {
    const full = [...store.rows.values()].filter((tile) => tile.width === TILE_WIDTH);
    expect(new Set(full.map((tile) => tile.level))).toEqual(new Set([0, 1]));
    for (const tile of full) {
      expect(toHex(fullTileRoot(tileNodes(tile)))).toBe(entryOf(tile));
      // SPEC: RFC 6962 §2.1: the MTH of the 256^(L+1) leaves the tile covers.
      const span = 256 ** (tile.level + 1);
      if (tile.level === 0 || tile.index === 1) {
        expect(toHex(fullTileRoot(tileNodes(tile)))).toBe(
          toHex(rootFromLeafHashes(all.slice(tile.index * span, (tile.index + 1) * span))),
        );
      }
    }
    expect(parentTileEntry({ level: 0, index: 513 })).toEqual({ level: 1, index: 2, entry: 1 });
  });

  it('tells a full tile with one byte changed from the entry above it', () => {
    const tile = store.rows.get('0/300') as Tile;
    const hashes = Uint8Array.from(tile.hashes);
    hashes[200 * HASH_SIZE + 7] = (hashes[200 * HASH_SIZE + 7] as number) ^ 1;
    expect(toHex(fullTileRoot(tileNodes({ ...tile, hashes })))).not.toBe(entryOf(tile));
  });

  it('refuses a partial tile and a tile at the top level', () => {
    expect(() => fullTileRoot(tileNodes(store.edge[0] as Tile))).toThrow('LEDGER.INVALID_ARGUMENT');
    expect(() => parentTileEntry({ level: 6, index: 0 })).toThrow('LEDGER.INVALID_ARGUMENT');
  });
});

describe('appending at sizes beyond 2^32', () => {
  /** Right-edge tiles for `size` with arbitrary (but fixed) contents, as if read from storage. */
  function syntheticEdge(size: number): Tile[] {
    return rightEdgeTileRefs(size).map((ref) => {
      const hashes = new Uint8Array(ref.width * HASH_SIZE);
      for (let i = 0; i < ref.width; i++) hashes.set(sha256(utf8(`${ref.level}/${ref.index}/${i}`)), i * HASH_SIZE);
      return { ...ref, hashes };
    });
  }

  it.each([2 ** 32 + 5, 2 ** 33 + 65_530, 2 ** 40 + 123_457, 2 ** 40 - 3, Number.MAX_SAFE_INTEGER - 700])(
    'from size %i the tile append agrees with a compact range over the same frontier',
    (size) => {
      const edge = syntheticEdge(size);
      // The frontier nodes of any size are perfect subtrees inside the right-edge tiles.
      const range = CompactRange.fromHashes(size, nodeHashesFromTiles(frontierNodeIds(size), edge));
      expect(toHex(rootFromRightEdge(size, edge))).toBe(toHex(range.root()));
      const block = leaves(700, size);
      const result = appendToTiles({ treeSize: size, rightEdge: edge, leafHashes: block });
      range.appendMany(block);
      expect(result.treeSize).toBe(size + 700);
      expect(toHex(result.root)).toBe(toHex(range.root()));
      expect(result.rightEdge.map(({ level, index, width }) => ({ level, index, width }))).toEqual(
        rightEdgeTileRefs(size + 700),
      );
      // New leaves land in the level-0 tiles numbered from floor(size / 256).
      expect(result.upserts[0]).toMatchObject({ level: 0, index: Math.floor(size / 256) });
    },
  );

  it('refuses to grow beyond 2^53 - 1', () => {
    const size = Number.MAX_SAFE_INTEGER - 1;
    expect(() => appendToTiles({ treeSize: size, rightEdge: syntheticEdge(size), leafHashes: leaves(2) })).toThrow(
      'LEDGER.INVALID_ARGUMENT',
    );
  });
});

import {
  appendToTiles,
  assembleProof,
  canonicalize,
  inclusionProofNodes,
  leafData,
  leafHash,
  nodeHashesFromTiles,
  verifyInclusion,
  type Tile,
} from '@medledger/ledger-core';
import type { LedgerRepository, StoredBlock } from './ledger.repository';
import { TilesCorruptError, TreeState } from './tree-state';

/** The sequencer's fast leaf encoding (concatenation) must equal the specified JCS bytes exactly. */
describe('TreeState.leavesData', () => {
  const tree = new TreeState({} as LedgerRepository);

  it.each([
    ['a plain envelope', { specversion: '1.0', id: 'e-1', data: { a: 1 } }, 'medledger.records.events'],
    ['unicode and escapes', { id: 'é-"quoted"\\\n', data: { ключ: '值', emoji: '😀', ctl: '\u0001' } }, 'topic "x"'],
    [
      'numbers in canonical form',
      { id: 'n', data: { big: 1e21, small: 1e-7, neg: -0, float: 0.1 + 0.2, int: 42 } },
      't',
    ],
    ['nested arrays and key order', { z: [3, { b: 2, a: 1 }], a: null, m: [true, false], id: 'k' }, 't'],
  ])('matches JCS for %s', (_case, event, topic) => {
    const receivedAt = new Date('2026-11-23T12:34:56.789Z');
    const canonicalEvent = Buffer.from(canonicalize(event), 'utf8');
    const later = new Date(receivedAt.getTime() + 1);
    const fast = tree.leavesData(2 ** 40 + 7, [
      { canonicalEvent, receivedAt, topic },
      { canonicalEvent, receivedAt, topic: 'second' },
      { canonicalEvent, receivedAt: later, topic },
    ]);
    const specs = [
      leafData({ index: 2 ** 40 + 7, receivedAt: receivedAt.toISOString(), topic, event }),
      leafData({ index: 2 ** 40 + 8, receivedAt: receivedAt.toISOString(), topic: 'second', event }),
      leafData({ index: 2 ** 40 + 9, receivedAt: later.toISOString(), topic, event }),
    ];
    expect(fast.map((data) => Buffer.from(data).toString('utf8'))).toEqual(
      specs.map((data) => Buffer.from(data).toString('utf8')),
    );
    // One buffer for the block, each leaf a view of its own part of it.
    expect(fast.every((data) => data.buffer === fast[0]?.buffer)).toBe(true);
  });
});

/** Proofs from memory (full tiles and each tile's inner hashes, computed once) must equal those from stored tiles. */
describe('TreeState.nodeHashes', () => {
  const SIZE = 1_000;
  const leaves = Array.from({ length: SIZE }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
  const appended = appendToTiles({ treeSize: 0, rightEdge: [], leafHashes: leaves });
  const stored = new Map(appended.upserts.map((tile) => [`${tile.level}/${tile.index}`, tile]));
  const reads: number[] = [];
  const repository = {
    tiles(refs: ReadonlyArray<{ level: number; index: number }>) {
      reads.push(refs.length);
      return Promise.resolve(refs.flatMap((ref) => stored.get(`${ref.level}/${ref.index}`) ?? []));
    },
  } as unknown as LedgerRepository;

  it('serves every inclusion proof as the stored tiles give it, and reads a tile once at most', async () => {
    const cold = new TreeState(repository);
    cold.commitAppend({ ...appended, upserts: [] }, { height: 0, hash: new Uint8Array(32) } as StoredBlock);
    const warm = new TreeState(repository);
    warm.commitAppend(appended, { height: 0, hash: new Uint8Array(32) } as StoredBlock);
    for (const index of [0, 1, 255, 256, 511, 999]) {
      const nodes = inclusionProofNodes(index, SIZE).ids;
      const expected = nodeHashesFromTiles(nodes, stored.values());
      reads.length = 0;
      expect(await cold.nodeHashes(nodes)).toEqual(expected);
      expect(await cold.nodeHashes(nodes)).toEqual(expected); // from the tiles' inner hashes
      expect(await warm.nodeHashes(nodes)).toEqual(expected);
      expect(reads.length).toBeLessThanOrEqual(1); // the cold tree's first call only
    }
  });

  it('stays right as blocks replace the right edge whose inner hashes proofs already used', async () => {
    const all = Array.from({ length: 3 * 256 + 40 }, (_, i) => leafHash(Buffer.from(`grown ${i}`)));
    const rows = new Map<string, Tile>();
    const grown = new TreeState({
      tiles: (refs: ReadonlyArray<{ level: number; index: number }>) =>
        Promise.resolve(refs.flatMap((ref) => rows.get(`${ref.level}/${ref.index}`) ?? [])),
    } as unknown as LedgerRepository);
    // Blocks of 1, 2, 3, … leaves: the level-0 edge tile changes width on every block and fills up three times.
    for (let size = 0, block = 1, height = 0; size < all.length; size += block, block += 1, height += 1) {
      const result = grown.prepareAppend(all.slice(size, Math.min(all.length, size + block)));
      for (const tile of result.upserts) rows.set(`${tile.level}/${tile.index}`, tile);
      grown.commitAppend(result, { height, hash: new Uint8Array(32) } as StoredBlock);
      const current = grown.size;
      for (const index of new Set([0, current - 1, Math.floor(current / 2), Math.max(0, current - 7)])) {
        const nodes = inclusionProofNodes(index, current).ids;
        expect(await grown.nodeHashes(nodes)).toEqual(nodeHashesFromTiles(nodes, rows.values()));
      }
    }
    expect(grown.size).toBe(all.length);
  });
});

/** A tile row changed in PostgreSQL is caught before anything is built from it: at start, or when a proof reads it. */
describe('TreeState checks the tiles it reads', () => {
  // Two full level-1 tiles, so a level-0 tile is checked through a full level-1 tile read from the database too.
  const SIZE = 2 * 256 * 256 + 3 * 256 + 77;
  const leaves = Array.from({ length: SIZE }, (_, i) => leafHash(Buffer.from(`checked ${i}`)));
  const appended = appendToTiles({ treeSize: 0, rightEdge: [], leafHashes: leaves });
  const head = { height: 9, treeSize: SIZE, root: appended.root, hash: new Uint8Array(32) } as StoredBlock;

  /** The stored rows, with one byte of tile `changed` flipped (entry `entry`). */
  function database(changed?: string, entry = 0) {
    const rows = new Map(appended.upserts.map((tile) => [`${tile.level}/${tile.index}`, tile]));
    if (changed) {
      const tile = rows.get(changed) as Tile;
      const hashes = Uint8Array.from(tile.hashes);
      hashes[entry * 32 + 5] = (hashes[entry * 32 + 5] as number) ^ 0x01;
      rows.set(changed, { ...tile, hashes });
    }
    const reads: string[][] = [];
    const repository = {
      head: () => Promise.resolve(head),
      tiles(refs: ReadonlyArray<{ level: number; index: number }>) {
        reads.push(refs.map((ref) => `${ref.level}/${ref.index}`));
        return Promise.resolve(refs.flatMap((ref) => rows.get(`${ref.level}/${ref.index}`) ?? []));
      },
    } as unknown as LedgerRepository;
    return { repository, reads };
  }

  async function started(changed?: string, entry?: number) {
    const { repository, reads } = database(changed, entry);
    const tree = new TreeState(repository);
    await tree.onModuleInit();
    return { tree, reads };
  }

  const proofFor = (index: number) => inclusionProofNodes(index, SIZE).ids;

  it('starts on intact tiles and serves proofs that verify against the signed root', async () => {
    const { tree, reads } = await started();
    expect(reads).toEqual([['0/515', '1/2', '2/0']]); // the right edge: 77, 3 and 2 entries
    for (const index of [0, 300, 70_000, SIZE - 1]) {
      const nodes = inclusionProofNodes(index, SIZE);
      const proof = assembleProof(nodes, await tree.nodeHashes(nodes.ids));
      expect(verifyInclusion(leaves[index] as Uint8Array, index, SIZE, proof, appended.root).ok).toBe(true);
    }
  });

  it.each([
    ['the level-0 edge tile', '0/515', 76],
    ['the level-1 edge tile', '1/2', 0],
    ['the top tile', '2/0', 1],
  ])('refuses to start when a byte of %s changed (%s)', async (_what, tile, entry) => {
    const error = await started(tile, entry).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TilesCorruptError);
    expect((error as TilesCorruptError).code).toBe('LEDGER.TILES_CORRUPT');
    expect((error as Error).message).toContain(`right-edge tiles [0/515.p/77, 1/2.p/3, 2/0.p/2]`);
    expect((error as Error).message).toContain('block 9 signed root');
  });

  it('refuses to start when a right-edge row is missing or has the wrong width', async () => {
    const { repository } = database();
    const narrow = new TreeState({
      head: () => repository.head(),
      tiles: async (refs: ReadonlyArray<{ level: number; index: number }>) =>
        (await repository.tiles(refs)).map((tile) => (tile.level === 1 ? { ...tile, width: 2 } : tile)),
    } as unknown as LedgerRepository);
    await expect(narrow.onModuleInit()).rejects.toThrow(/LEDGER.TILES_CORRUPT: tile 1\/2.p\/3 should be on the right/);
  });

  it.each([
    // Level 0, interior: the edge's root is untouched, only proofs for leaves 256..511 read this row.
    ['an interior level-0 tile', '0/1', 17, 300, 256 * 256 + 5],
    // Level 1, full: every level-0 tile below it is checked against it, so it is checked too.
    ['a full level-1 tile', '1/0', 200, 300, 256 * 256 + 5],
    ['the last full level-0 tile', '0/514', 255, SIZE - 100, 0],
  ])(
    'answers a proof that would read %s (%s) changed with TilesCorruptError, other proofs as before',
    async (_what, tile, entry, bad, good) => {
      const { tree } = await started(tile, entry);
      const refused = await tree.nodeHashes(proofFor(bad)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(TilesCorruptError);
      expect((refused as TilesCorruptError).tiles).toEqual([tile]);
      expect((refused as Error).message).toMatch(new RegExp(`tile ${tile} hashes to \\S+, but entry \\d+ of tile`));
      // Still refused the next time (the row is not kept), and a proof that reads no changed row is served.
      await expect(tree.nodeHashes(proofFor(bad))).rejects.toBeInstanceOf(TilesCorruptError);
      const nodes = inclusionProofNodes(good, SIZE);
      const proof = assembleProof(nodes, await tree.nodeHashes(nodes.ids));
      expect(verifyInclusion(leaves[good] as Uint8Array, good, SIZE, proof, appended.root).ok).toBe(true);
    },
  );

  it('refuses a full tile whose row is gone or partial', async () => {
    const { repository } = database();
    const tree = new TreeState({
      head: () => repository.head(),
      tiles: async (refs: ReadonlyArray<{ level: number; index: number }>) =>
        (await repository.tiles(refs)).flatMap((tile) =>
          tile.level === 0 && tile.index === 3
            ? []
            : tile.level === 0 && tile.index === 4
              ? [{ ...tile, width: 255, hashes: tile.hashes.subarray(0, 255 * 32) }]
              : [tile],
        ),
    } as unknown as LedgerRepository);
    await tree.onModuleInit();
    await expect(tree.nodeHashes(proofFor(3 * 256))).rejects.toThrow(
      'LEDGER.TILES_CORRUPT: tile 0/3 should be a full tile at tree size 131917, found no row',
    );
    await expect(tree.nodeHashes(proofFor(4 * 256))).rejects.toThrow(
      'tile 0/4 should be a full tile at tree size 131917, found width 255',
    );
  });

  it('reads a cold tile with the tiles above it in one query, and checks each once', async () => {
    const { tree, reads } = await started();
    reads.length = 0;
    await tree.nodeHashes(proofFor(300));
    expect(reads).toEqual([['0/1', '1/0']]); // 1/0 is full and not in memory: read and checked too
    await tree.nodeHashes(proofFor(600));
    expect(reads.at(-1)).toEqual(['0/2']); // 1/0 is now checked and cached
    await tree.nodeHashes(proofFor(300));
    expect(reads).toHaveLength(2);
  });
});

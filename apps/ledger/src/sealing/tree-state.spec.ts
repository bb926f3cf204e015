import {
  appendToTiles,
  canonicalize,
  inclusionProofNodes,
  leafData,
  leafHash,
  nodeHashesFromTiles,
  type Tile,
} from '@medledger/ledger-core';
import type { LedgerRepository, StoredBlock } from './ledger.repository';
import { TreeState } from './tree-state';

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

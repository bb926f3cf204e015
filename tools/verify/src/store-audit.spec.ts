import { appendToTiles, fromBase64, leafHash, type Tile } from '@medledger/ledger-core';
import { buildLedger, keysOf, stream, type TestLedger } from '../test/test-ledger';
import { auditStore, type StoreReader, type StoredTileRow } from './store-audit';

/** The tile rows the ledger service stores for `ledger`: one per (level, index), the latest version of each. */
function tilesOf(ledger: TestLedger): StoredTileRow[] {
  const rows = new Map<string, Tile>();
  let treeSize = 0;
  let rightEdge: readonly Tile[] = [];
  for (const block of ledger.blocks) {
    const leaves = ledger.leaves.slice(block.firstLeafIndex, block.treeSize);
    const appended = appendToTiles({
      treeSize,
      rightEdge,
      leafHashes: leaves.map((leaf) => leafHash(fromBase64(leaf.leafData) as Uint8Array)),
    });
    for (const tile of appended.upserts) rows.set(`${tile.level}/${tile.index}`, tile);
    ({ treeSize, rightEdge } = appended);
  }
  return [...rows.values()].map((tile) => ({ ...tile, hashes: Uint8Array.from(tile.hashes) }));
}

function storeOf(ledger: TestLedger, tiles: StoredTileRow[]): StoreReader {
  return {
    checkpoint: async () => ledger.checkpoint,
    blocks: () => stream(ledger.blocks),
    leaves: () => stream(ledger.leaves),
    tiles: async (ids) => tiles.filter((tile) => ids.some((id) => id.level === tile.level && id.index === tile.index)),
    tileKeys: async () => tiles.map(({ level, index }) => ({ level, index })),
  };
}

const changeByte = (tile: StoredTileRow, byte: number): StoredTileRow => {
  const hashes = Uint8Array.from(tile.hashes);
  hashes[byte] = ((hashes[byte] as number) + 1) % 256;
  return { ...tile, hashes };
};

describe('auditStore', () => {
  // 600 leaves in blocks of 50: tiles 0/0 and 0/1 full, 0/2 of width 88, 1/0 of width 2 (as in the tamper scenario).
  const ledger = buildLedger({ blockSizes: Array.from({ length: 12 }, () => 50) });
  const keys = keysOf(...ledger.signers);
  const tiles = tilesOf(ledger);
  const tile = (name: string) => {
    const found = tiles.find((t) => `${t.level}/${t.index}` === name);
    if (!found) throw new Error(`no tile ${name}`);
    return found;
  };
  const audit = (rows: StoredTileRow[], of: TestLedger = ledger) => auditStore({ keys, store: storeOf(of, rows) });

  it('passes the store as the ledger writes it, every row compared', async () => {
    expect(tiles.map((t) => `${t.level}/${t.index}/${t.width}`).sort()).toEqual([
      '0/0/256',
      '0/1/256',
      '0/2/88',
      '1/0/2',
    ]);
    expect(await audit(tiles)).toMatchObject({ ok: true, blocks: 12, leaves: 600, tiles: 4 });
  });

  it.each([
    // [tile, byte changed, the block that sealed the last leaf of the entry]
    ['0/0', 0, 0], // leaf 0's hash: block 0
    ['0/0', 32 * 100 + 5, 2], // leaf 100: block 2 (leaves 100-149)
    ['0/1', 32 * 255 + 31, 10], // leaf 511: block 10 (500-549)
    ['0/2', 32 * 87, 11], // leaf 599, in the right-edge partial tile: block 11
    ['1/0', 0, 5], // the root of leaves 0-255, complete with leaf 255: block 5 (250-299)
    ['1/0', 32 + 17, 10], // the root of leaves 256-511: block 10
  ])(
    'names the first block whose proofs read a changed byte of tile %s (byte %i): block %i',
    async (name, byte, height) => {
      const changed = tiles.map((t) => (t === tile(name) ? changeByte(t, byte) : t));
      const report = await audit(changed);
      expect(report).toMatchObject({ ok: false, code: 'VERIFY.TILE_MISMATCH', height });
      expect(report.ok || report.message).toMatch(new RegExp(`^block ${height}: stored tile ${name} `));
    },
  );

  it('names a tile row that is missing, cut short or left over', async () => {
    expect(await audit(tiles.filter((t) => t !== tile('0/1')))).toMatchObject({
      code: 'VERIFY.TILE_MISSING',
      height: 5, // leaf 256, the first of tile 0/1: block 5
    });
    const short = { ...tile('0/2'), width: 80, hashes: tile('0/2').hashes.subarray(0, 80 * 32) };
    expect(await audit(tiles.map((t) => (t === tile('0/2') ? short : t)))).toMatchObject({
      code: 'VERIFY.TILE_MISMATCH',
      height: 11, // leaf 592
    });
    const beyond = { level: 0, index: 3, width: 1, hashes: new Uint8Array(32) };
    expect(await audit([...tiles, beyond])).toMatchObject({ code: 'VERIFY.TILE_EXTRA', height: 11 });
  });

  it('reports the chain check first where a leaf changed, even though the tiles no longer match it', async () => {
    const leaves = ledger.leaves.map((leaf, i) => {
      if (i !== 120) return leaf;
      const data = Buffer.from(leaf.leafData, 'base64');
      data[40] = (data[40] as number) ^ 1;
      return { ...leaf, leafData: data.toString('base64') };
    });
    const report = await audit(tiles, { ...ledger, leaves });
    expect(report).toMatchObject({ ok: false, height: 2 });
    expect(report.ok || report.code).not.toMatch(/TILE/);
  });

  it('names the tile when it breaks an earlier block than a later block the chain check fails', async () => {
    const blocks = ledger.blocks.map((block, h) =>
      h === 9 ? { ...block, sealedAt: '2026-11-23T12:59:00.000Z' } : block,
    );
    const changed = tiles.map((t) => (t === tile('0/0') ? changeByte(t, 32 * 100) : t));
    expect(await audit(changed, { ...ledger, blocks })).toMatchObject({ code: 'VERIFY.TILE_MISMATCH', height: 2 });
  });
});

import {
  appendToTiles,
  bytesEqual,
  fromBase64,
  HASH_SIZE,
  leafHash,
  TILE_WIDTH,
  toBase64,
  type Tile,
} from '@medledger/ledger-core';
import { verifyChain, type ChainProgress, type ChainSummary } from './chain-verifier';
import { finding, VerifyCode, type Finding } from './codes';
import { type TrustedKeys } from './keys';
import { type ProducerCheck } from './producers';

/**
 * `audit`: the operator's check of what the ledger stores, read from its PostgreSQL database rather than through
 * its API (ADR 0017). The blocks and leaves are verified exactly as `chain` verifies them, and every tile row (the
 * stored Merkle tree that proofs are served from, which `chain` never reads) is compared byte for byte with the
 * tiles recomputed from those verified leaves. A running ledger keeps the tiles it has read or sealed in memory,
 * so a changed row is invisible through its API until it restarts (and then refuses proofs with
 * LEDGER.TILES_CORRUPT); this finds it at once, and names the first block whose proofs it would break.
 */

/** A stored tile row: C2SP tlog-tiles coordinates, width and the concatenated hashes. */
export interface StoredTileRow {
  readonly level: number;
  readonly index: number;
  readonly width: number;
  readonly hashes: Uint8Array;
}

/** What the audit reads from the store; one consistent snapshot (the PostgreSQL reader is one read-only transaction). */
export interface StoreReader {
  /** The newest block's checkpoint, undefined when there is no block. */
  checkpoint(): Promise<string | undefined>;
  /** Every block, by height, as `GET /v1/blocks` presents them. */
  blocks(): AsyncIterable<unknown>;
  /** Every stored leaf, by index, as `GET /v1/leaves` presents them (`{ index, eventId, leafData }`). */
  leaves(): AsyncIterable<unknown>;
  /** The tile rows with these coordinates (those that exist). */
  tiles(ids: ReadonlyArray<{ level: number; index: number }>): Promise<StoredTileRow[]>;
  /** The coordinates of every stored tile row. */
  tileKeys(): Promise<Array<{ level: number; index: number }>>;
}

export interface AuditInput {
  readonly keys: TrustedKeys;
  readonly store: StoreReader;
  readonly origin?: string;
  readonly producers?: ProducerCheck;
  readonly onProgress?: (progress: ChainProgress) => void;
}

export type AuditReport = (ChainSummary & { readonly tiles: number }) | Finding;

/** Full tiles compared per query. */
const TILE_BATCH = 64;
/** Leaf hashes appended to the recomputed tree at a time. */
const LEAF_BATCH = 1_024;

const key = (tile: { level: number; index: number }) => `${tile.level}/${tile.index}`;

/**
 * The first entry where a stored row differs from the recomputed tile: `entry` is the first hash that is wrong or
 * missing on either side (an entry at or beyond `expected.width` is one the tree does not have).
 */
export function firstDifference(
  expected: Tile,
  stored: StoredTileRow | undefined,
): { entry: number; what: string } | undefined {
  if (!stored) return { entry: 0, what: 'no row' };
  const storedEntries = Math.floor(stored.hashes.length / HASH_SIZE);
  const common = Math.min(expected.width, stored.width, storedEntries);
  for (let entry = 0; entry < common; entry++) {
    const at = entry * HASH_SIZE;
    const mine = expected.hashes.subarray(at, at + HASH_SIZE);
    const theirs = stored.hashes.subarray(at, at + HASH_SIZE);
    if (!bytesEqual(mine, theirs)) {
      return { entry, what: `entry ${entry} is ${toBase64(theirs)}, the leaves recompute to ${toBase64(mine)}` };
    }
  }
  if (stored.width !== expected.width || stored.hashes.length !== expected.hashes.length) {
    return {
      entry: common,
      what: `width ${stored.width} and ${stored.hashes.length} bytes, the tree needs width ${expected.width} (${expected.hashes.length} bytes)`,
    };
  }
  return undefined;
}

/**
 * Verifies a ledger's store: the chain (blocks, leaves, signatures, roots, checkpoints, as `chain`), then every
 * tile row against the tiles recomputed from the leaves (ledger-core appendToTiles, as the ledger builds them), and
 * no row besides them. One pass over the leaves; memory O(blocks) for naming the block a tile serves, plus one
 * batch of tiles. The first bad block is named: a tile's is the block that sealed the last leaf of the first wrong
 * entry, i.e. the first block whose proofs read that hash.
 */
export async function auditStore(input: AuditInput): Promise<AuditReport> {
  const { store } = input;
  /** treeSize of each block handed to the chain check, by height: to name the block a tile entry belongs to. */
  const treeSizes: number[] = [];
  let treeSize = 0;
  let rightEdge: readonly Tile[] = [];
  let hashes: Uint8Array[] = [];
  let pending: Tile[] = [];
  let compared = 0;
  const expected = new Set<string>();
  let tileFinding: Finding | undefined;

  const blockOfLeaf = (index: number): number => {
    // The first block whose tree size exceeds the leaf index; a leaf beyond the tree is the newest block's concern.
    let low = 0;
    let high = treeSizes.length - 1;
    if (high < 0) return 0;
    if (index >= (treeSizes[high] as number)) return high;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((treeSizes[middle] as number) > index) high = middle;
      else low = middle + 1;
    }
    return low;
  };

  const note = (tile: Tile, difference: { entry: number; what: string }, code: VerifyCode) => {
    if (tileFinding) return;
    // SPEC: C2SP tlog-tiles: entry e of tile (L, N) is the hash of leaves [(N·256+e)·256^L, (N·256+e+1)·256^L).
    const span = TILE_WIDTH ** tile.level;
    const first = (tile.index * TILE_WIDTH + difference.entry) * span;
    const height = blockOfLeaf(first + span - 1);
    const leaves = `leaves [${first}, ${first + span})`;
    tileFinding = finding(
      code,
      `block ${height}: stored tile ${key(tile)} (${leaves} at entry ${difference.entry}): ${difference.what}`,
      { height },
    );
  };

  const compare = async (tiles: readonly Tile[]) => {
    if (tiles.length === 0 || tileFinding) return;
    const rows = new Map((await store.tiles(tiles)).map((row) => [key(row), row]));
    for (const tile of tiles) {
      const stored = rows.get(key(tile));
      const difference = firstDifference(tile, stored);
      if (difference) note(tile, difference, stored ? VerifyCode.TILE_MISMATCH : VerifyCode.TILE_MISSING);
    }
    compared += tiles.length;
  };

  const append = async () => {
    if (hashes.length === 0) return;
    const appended = appendToTiles({ treeSize, rightEdge, leafHashes: hashes });
    hashes = [];
    treeSize = appended.treeSize;
    rightEdge = appended.rightEdge;
    // Full tiles never change again: compared once they are; the partial ones at the end.
    for (const tile of appended.upserts) {
      if (tile.width !== TILE_WIDTH) continue;
      expected.add(key(tile));
      pending.push(tile);
    }
    if (pending.length >= TILE_BATCH) {
      const batch = pending;
      pending = [];
      await compare(batch);
    }
  };

  async function* blocks(): AsyncGenerator<unknown> {
    for await (const block of store.blocks()) {
      const size = (block as { treeSize?: unknown } | null)?.treeSize;
      treeSizes.push(typeof size === 'number' ? size : (treeSizes.at(-1) ?? 0));
      yield block;
    }
  }

  // The tree is recomputed from the leaves as the chain check takes them: it checks them against the signed roots
  // block by block, so a tile finding counts only up to the first block the chain check fails (below).
  async function* leaves(): AsyncGenerator<unknown> {
    for await (const leaf of store.leaves()) {
      const data = (leaf as { leafData?: unknown } | null)?.leafData;
      const bytes = typeof data === 'string' ? fromBase64(data) : undefined;
      if (bytes) hashes.push(leafHash(bytes));
      if (hashes.length >= LEAF_BATCH) await append();
      yield leaf;
    }
  }

  const chain = await verifyChain({
    keys: input.keys,
    checkpoint: await store.checkpoint(),
    blocks: blocks(),
    leaves: leaves(),
    origin: input.origin,
    producers: input.producers,
    onProgress: input.onProgress,
  });
  if (!chain.ok) {
    // A changed tile in a block before the first one the chain check fails is the first bad block: the full tiles
    // recomputed so far are compared first (those of the failing block's leaves are named at or after it).
    await append();
    await compare(pending);
    return tileFinding?.height !== undefined && chain.height !== undefined && tileFinding.height < chain.height
      ? tileFinding
      : chain;
  }
  await append();
  await compare(pending);
  for (const tile of rightEdge) expected.add(key(tile));
  await compare(rightEdge);
  if (tileFinding) return tileFinding;

  const extra = (await store.tileKeys()).filter((tile) => !expected.has(key(tile)));
  const first = extra.sort((a, b) => a.level - b.level || a.index - b.index)[0];
  if (first) {
    const height = Math.max(0, chain.blocks - 1);
    return finding(
      VerifyCode.TILE_EXTRA,
      `block ${height}: stored tile ${key(first)} is not a tile of the tree of size ${chain.treeSize}` +
        `${extra.length > 1 ? ` (and ${extra.length - 1} more rows)` : ''}`,
      { height },
    );
  }
  return { ...chain, tiles: compared };
}

import { concatBytes } from './encoding';
import { LedgerCoreError, LedgerErrorCode } from './errors';
import { copyHash, HASH_SIZE, nodeHash } from './hash';
import { assertCount, assertHash, rootFromFrontier } from './merkle';
import { type BigNode, isCount, isNodeId, MAX_TREE_SIZE, type NodeId } from './tree-math';

/**
 * Storage of the Merkle tree as C2SP tlog-tiles: tiles of height 8, i.e. up to 256 hashes each.
 *
 * SPEC: C2SP tlog-tiles, "Merkle Tree": the tile at tile-level L, index N holds the hashes of the Merkle-level 8L
 * nodes N·256 … N·256+w−1 (`MTH(D[(N·256+i)·256^L : (N·256+i+1)·256^L])`), concatenated. A full tile has w = 256;
 * the rightmost tile of each level may be partial (1 ≤ w ≤ 255) and is never hashed into the level above. The
 * 8 Merkle levels inside a tile are not stored; they are recomputed from its bottom row.
 *
 * A service keeps one row per (level, index): `(level, index, width, hashes bytea)`, replaced as a partial tile
 * grows and finally becomes full. Entries never change once written (they are hashes of perfect subtrees), so
 * the latest row serves every past tree size too: a client asking for `.p/W` gets the first W entries.
 */

/** Merkle levels per tile. SPEC: C2SP tlog-tiles (tile height 8). */
export const TILE_HEIGHT = 8;
/** Hashes in a full tile: 2^TILE_HEIGHT. */
export const TILE_WIDTH = 256;
/** Tile levels a tree of at most 2^53 − 1 leaves can use: 256^7 > 2^53. */
export const MAX_TILE_LEVEL = 6;

const TILE_HEIGHT_BIG = BigInt(TILE_HEIGHT);

/** A stored tile: `hashes` is `width` 32-byte hashes, concatenated (the C2SP tile body). */
export interface Tile {
  readonly level: number;
  readonly index: number;
  readonly width: number;
  readonly hashes: Uint8Array;
}

/** A tile to read, and the least width it must have. */
export interface TileRef {
  readonly level: number;
  readonly index: number;
  readonly width: number;
}

export function isTile(value: unknown): value is Tile {
  if (typeof value !== 'object' || value === null) return false;
  const { level, index, width, hashes } = value as Partial<Record<keyof Tile, unknown>>;
  return (
    isCount(level) &&
    level <= MAX_TILE_LEVEL &&
    isCount(index) &&
    isCount(width) &&
    width >= 1 &&
    width <= TILE_WIDTH &&
    hashes instanceof Uint8Array &&
    hashes.length === width * HASH_SIZE
  );
}

function assertTile(value: unknown, what: string): asserts value is Tile {
  if (!isTile(value)) {
    throw new LedgerCoreError(
      LedgerErrorCode.INVALID_ARGUMENT,
      `${what} must be { level 0..${MAX_TILE_LEVEL}, index, width 1..256, hashes: width × 32 bytes }`,
    );
  }
}

/** Where a node's hash lives: tile (level, index), bottom-row entries [offset, offset + count). */
interface Slot {
  readonly level: number;
  readonly index: bigint;
  readonly offset: number;
  readonly count: number;
}

function slotOf(node: BigNode): Slot {
  const level = Math.floor(node.level / TILE_HEIGHT);
  const k = node.level - level * TILE_HEIGHT;
  // The node's leftmost descendant at Merkle level 8L, and the tile that holds it.
  const first = node.index << BigInt(k);
  const index = first >> TILE_HEIGHT_BIG;
  return { level, index, offset: Number(first - (index << TILE_HEIGHT_BIG)), count: 2 ** k };
}

function toBigNode(node: NodeId, what: string): BigNode {
  if (!isNodeId(node)) throw new LedgerCoreError(LedgerErrorCode.INVALID_ARGUMENT, `${what} is not a node id`);
  return { level: node.level, index: BigInt(node.index) };
}

function refOf(node: NodeId, what: string): TileRef {
  const slot = slotOf(toBigNode(node, what));
  return { level: slot.level, index: Number(slot.index), width: slot.offset + slot.count };
}

/** The tile (and its least width) from which the hash of `node` can be read or recomputed. */
export function tileForNode(node: NodeId): TileRef {
  return refOf(node, 'node');
}

/**
 * The tiles to read to get the hashes of `nodes` (e.g. `inclusionProofNodes(…).ids`), each once, with the widest
 * width any of the nodes needs, ordered by level then index.
 */
export function tilesForNodes(nodes: readonly NodeId[]): TileRef[] {
  const byKey = new Map<string, TileRef>();
  nodes.forEach((node, i) => {
    const ref = refOf(node, `nodes[${i}]`);
    const key = `${ref.level}/${ref.index}`;
    const seen = byKey.get(key);
    if (!seen || seen.width < ref.width) byKey.set(key, ref);
  });
  return [...byKey.values()].sort((a, b) => a.level - b.level || a.index - b.index);
}

/** The root of a perfect subtree from its 2^k bottom hashes, pairing neighbours level by level. */
function perfectRoot(hashes: readonly Uint8Array[]): Uint8Array {
  let row = hashes;
  while (row.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < row.length; i += 2) next.push(nodeHash(row[i] as Uint8Array, row[i + 1] as Uint8Array));
    row = next;
  }
  return row[0] as Uint8Array;
}

function entries(tile: Tile, from = 0, count = tile.width): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = from; i < from + count; i++) out.push(tile.hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  return out;
}

/** Where node (level, index) lies in `tile`; throws if the tile is not the node's tile or is too narrow for it. */
function slotIn(tile: Tile, level: number, index: number): Slot {
  const slot = slotOf(toBigNode({ level, index }, 'node'));
  if (tile.level !== slot.level || BigInt(tile.index) !== slot.index) {
    throw new LedgerCoreError(
      LedgerErrorCode.TILES_INCONSISTENT,
      `node ${level}/${index} is in tile ${slot.level}/${slot.index}, not ${tile.level}/${tile.index}`,
    );
  }
  if (tile.width < slot.offset + slot.count) {
    throw new LedgerCoreError(
      LedgerErrorCode.TILES_INCONSISTENT,
      `node ${level}/${index} needs width ${slot.offset + slot.count}, tile has ${tile.width}`,
    );
  }
  return slot;
}

/**
 * The hash of node (level, index), recomputed from the bottom row of the tile that holds it: the node sits k =
 * level − 8L Merkle levels above that row (0 ≤ k ≤ 7) and spans 2^k of its entries. Throws if the tile is not the
 * node's tile or is too narrow (the node is not complete in it).
 */
export function nodeHashFromTile(tile: Tile, level: number, index: number): Uint8Array {
  assertTile(tile, 'tile');
  const slot = slotIn(tile, level, index);
  return copyHash(perfectRoot(entries(tile, slot.offset, slot.count)));
}

/**
 * Every node hash a tile holds, computed once: the Merkle levels k = 1 … 7 above its bottom row (row k has
 * floor(width / 2^k) entries), concatenated in `rows`. A proof served from a tile whose nodes are known reads its
 * hashes instead of recomputing up to 255 SHA-256 per node.
 */
export interface TileNodes {
  readonly tile: Tile;
  /** Rows k = 1 … 7, each floor(width / 2^k) hashes, one after the other. */
  readonly rows: Uint8Array;
}

/** Hashes in rows 1 … k − 1 of a tile of `width` (where row k starts in `TileNodes.rows`). */
function rowsBefore(width: number, k: number): number {
  let hashes = 0;
  for (let j = 1; j < k; j++) hashes += Math.floor(width / 2 ** j);
  return hashes;
}

/** The interior of `tile` (see `TileNodes`); 254 hashes (8,128 bytes) for a full tile. */
export function tileNodes(tile: Tile): TileNodes {
  assertTile(tile, 'tile');
  const rows = new Uint8Array(rowsBefore(tile.width, TILE_HEIGHT) * HASH_SIZE);
  let below = tile.hashes;
  let at = 0;
  for (let k = 1; k < TILE_HEIGHT; k++) {
    const count = Math.floor(tile.width / 2 ** k);
    const start = at;
    for (let i = 0; i < count; i++, at += HASH_SIZE) {
      const left = below.subarray(2 * i * HASH_SIZE, (2 * i + 1) * HASH_SIZE);
      const right = below.subarray((2 * i + 1) * HASH_SIZE, (2 * i + 2) * HASH_SIZE);
      rows.set(nodeHash(left, right), at);
    }
    below = rows.subarray(start, at);
  }
  return { tile, rows };
}

/**
 * The hash of node (level, index) read from the interior of the tile that holds it (`tileForNode`): a view into
 * `nodes.rows` or the tile's bottom row, not a copy. Throws like `nodeHashFromTile` for the wrong or too narrow a
 * tile.
 */
export function nodeHashFromTileNodes(nodes: TileNodes, level: number, index: number): Uint8Array {
  const { tile, rows } = nodes;
  const slot = slotIn(tile, level, index);
  const k = level - tile.level * TILE_HEIGHT;
  const position = slot.offset / slot.count;
  if (k === 0) return tile.hashes.subarray(position * HASH_SIZE, (position + 1) * HASH_SIZE);
  const at = rowsBefore(tile.width, k) + position;
  return rows.subarray(at * HASH_SIZE, (at + 1) * HASH_SIZE);
}

/**
 * The Merkle root of a full tile (its Merkle-level 8(L+1) node), from its interior: the hash of the two entries of
 * its row 7. Throws for a partial tile, which has no root of its own in the tree.
 */
export function fullTileRoot(nodes: TileNodes): Uint8Array {
  if (nodes.tile.width !== TILE_WIDTH) {
    throw new LedgerCoreError(
      LedgerErrorCode.INVALID_ARGUMENT,
      `tile ${nodes.tile.level}/${nodes.tile.index} has width ${nodes.tile.width}: only a full tile has a root`,
    );
  }
  const at = rowsBefore(TILE_WIDTH, TILE_HEIGHT - 1) * HASH_SIZE;
  return nodeHash(nodes.rows.subarray(at, at + HASH_SIZE), nodes.rows.subarray(at + HASH_SIZE, at + 2 * HASH_SIZE));
}

/**
 * Where the root of full tile (level, index) is stored: entry `index mod 256` of tile (level + 1, floor(index /
 * 256)). A full tile read from storage is authentic when its root is that entry of an authentic tile; the chain of
 * such tiles ends at the right edge, whose partial tiles `rootFromRightEdge` checks against a signed root.
 * SPEC: C2SP tlog-tiles: a full tile's MTH is one entry of the tile at the level above.
 */
export function parentTileEntry(tile: { level: number; index: number }): {
  level: number;
  index: number;
  entry: number;
} {
  assertCount(tile.level, 'level');
  assertCount(tile.index, 'index');
  if (tile.level >= MAX_TILE_LEVEL) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_ARGUMENT, `tile level ${tile.level} has no level above it`);
  }
  return { level: tile.level + 1, index: Math.floor(tile.index / TILE_WIDTH), entry: tile.index % TILE_WIDTH };
}

/** The hashes of `nodes`, in order, from a set of tiles (as read for `tilesForNodes(nodes)`). */
export function nodeHashesFromTiles(nodes: readonly NodeId[], tiles: Iterable<Tile>): Uint8Array[] {
  const byKey = new Map<string, Tile>();
  for (const tile of tiles) {
    assertTile(tile, 'tile');
    const key = `${tile.level}/${tile.index}`;
    const seen = byKey.get(key);
    if (!seen || seen.width < tile.width) byKey.set(key, tile);
  }
  return nodes.map((node, i) => {
    const ref = refOf(node, `nodes[${i}]`);
    const tile = byKey.get(`${ref.level}/${ref.index}`);
    if (!tile) throw new LedgerCoreError(LedgerErrorCode.TILE_MISSING, `tile ${ref.level}/${ref.index} not given`);
    return nodeHashFromTile(tile, node.level, node.index);
  });
}

/**
 * The partial tiles at the right edge of a tree of `size` leaves: one per tile level whose width
 * floor(size / 256^L) mod 256 is not 0. These, and nothing else, are what `appendToTiles` needs to read.
 * SPEC: C2SP tlog-tiles, "Partial Tiles".
 */
export function rightEdgeTileRefs(size: number): TileRef[] {
  assertCount(size, 'size');
  const refs: TileRef[] = [];
  const width = BigInt(TILE_WIDTH);
  for (let level = 0, count = BigInt(size); count > 0n; level++, count /= width) {
    const w = Number(count % width);
    if (w > 0) refs.push({ level, index: Number(count / width), width: w });
  }
  return refs;
}

/** Checks that `rightEdge` is exactly the set of partial tiles of `size`; returns their bottom rows by level. */
function edgeRows(size: number, rightEdge: readonly Tile[]): Uint8Array[][] {
  rightEdge.forEach((tile, i) => assertTile(tile, `rightEdge[${i}]`));
  const expected = rightEdgeTileRefs(size);
  const describe = (tiles: readonly TileRef[]): string =>
    tiles.map((t) => `${t.level}/${t.index}.p/${t.width}`).join(', ') || 'none';
  const sorted = [...rightEdge].sort((a, b) => a.level - b.level);
  const matches =
    sorted.length === expected.length &&
    sorted.every((tile, i) => {
      const want = expected[i] as TileRef;
      return tile.level === want.level && tile.index === want.index && tile.width === want.width;
    });
  if (!matches) {
    throw new LedgerCoreError(
      LedgerErrorCode.TILES_INCONSISTENT,
      `tree size ${size} needs right-edge tiles [${describe(expected)}], got [${describe(sorted)}]`,
    );
  }
  const rows: Uint8Array[][] = [];
  for (const tile of sorted) rows[tile.level] = entries(tile).map(copyHash);
  return rows;
}

/**
 * The frontier read off the right-edge bottom rows: size in base 256 has digit w_L at tile level L, and the
 * binary digits of w_L, high to low, are the frontier's perfect subtrees at levels 8L+7 … 8L, left to right.
 */
function rootFromRows(rows: readonly (Uint8Array[] | undefined)[]): Uint8Array {
  const frontier: Uint8Array[] = [];
  for (let level = rows.length - 1; level >= 0; level--) {
    const row = rows[level] ?? [];
    let offset = 0;
    for (let k = TILE_HEIGHT - 1; k >= 0; k--) {
      const span = 2 ** k;
      if (Math.floor(row.length / span) % 2 === 1) {
        frontier.push(perfectRoot(row.slice(offset, offset + span)));
        offset += span;
      }
    }
  }
  return rootFromFrontier(frontier);
}

/** The root of the tree of `size` leaves from its right-edge partial tiles alone (see `rightEdgeTileRefs`). */
export function rootFromRightEdge(size: number, rightEdge: readonly Tile[]): Uint8Array {
  return rootFromRows(edgeRows(size, rightEdge));
}

export interface TileAppendInput {
  /** Leaves in the tree before this append. */
  readonly treeSize: number;
  /** The current partial tiles, exactly those of `rightEdgeTileRefs(treeSize)`. */
  readonly rightEdge: readonly Tile[];
  /** The new leaf hashes, in order. */
  readonly leafHashes: readonly Uint8Array[];
}

export interface TileAppendResult {
  readonly treeSize: number;
  /** SPEC: RFC 6962 §2.1: the MTH of all treeSize leaves. */
  readonly root: Uint8Array;
  /** Tiles to upsert by (level, index): every tile that became full, then the partial tiles that changed. */
  readonly upserts: readonly Tile[];
  /** The partial tiles after the append: the `rightEdge` to pass next time. */
  readonly rightEdge: readonly Tile[];
}

/**
 * Appends a block of leaf hashes to a tiled tree. Reads nothing but the right-edge partial tiles and writes
 * O(tile levels + new full tiles) rows; hashing is one extra hash per leaf amortised (completing full tiles)
 * plus at most 255 per tile level for the root.
 */
export function appendToTiles(input: TileAppendInput): TileAppendResult {
  const { treeSize, rightEdge, leafHashes } = input;
  assertCount(treeSize, 'treeSize');
  leafHashes.forEach((hash, i) => assertHash(hash, `leafHashes[${i}]`));
  if (treeSize + leafHashes.length > MAX_TREE_SIZE) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_ARGUMENT, 'tree size would exceed 2^53 - 1');
  }
  const rows: (Uint8Array[] | undefined)[] = edgeRows(treeSize, rightEdge);
  // counts[L]: how many Merkle-level-8L nodes are complete. The row at level L holds the last counts[L] mod 256.
  const counts: bigint[] = [];
  for (let level = 0, count = BigInt(treeSize); count > 0n; level++, count >>= TILE_HEIGHT_BIG) counts[level] = count;
  const changed: boolean[] = [];
  const upserts: Tile[] = [];

  const makeTile = (level: number, row: readonly Uint8Array[]): Tile => {
    const count = counts[level] ?? 0n;
    // A full row is the tile that holds node count-1; a partial row is the tile that holds node count.
    const index = row.length === TILE_WIDTH ? (count - 1n) >> TILE_HEIGHT_BIG : count >> TILE_HEIGHT_BIG;
    return { level, index: Number(index), width: row.length, hashes: concatBytes(row) };
  };

  const push = (level: number, hash: Uint8Array): void => {
    const row = (rows[level] ??= []);
    row.push(hash);
    counts[level] = (counts[level] ?? 0n) + 1n;
    changed[level] = true;
    if (row.length < TILE_WIDTH) return;
    // SPEC: C2SP tlog-tiles: a full tile's MTH is one entry of the tile at the level above.
    upserts.push(makeTile(level, row));
    rows[level] = [];
    changed[level] = false;
    push(level + 1, perfectRoot(row));
  };

  for (const hash of leafHashes) push(0, copyHash(hash));

  const edge: Tile[] = [];
  rows.forEach((row, level) => {
    if (!row || row.length === 0) return;
    const tile = makeTile(level, row);
    edge.push(tile);
    if (changed[level]) upserts.push(tile);
  });
  return {
    treeSize: treeSize + leafHashes.length,
    root: rootFromRows(rows),
    upserts,
    rightEdge: edge,
  };
}

/**
 * The C2SP URL path of a tile: `tile/<L>/<N>` or `tile/<L>/<N>.p/<W>` for a partial tile, with N in zero-padded
 * 3-digit groups, all but the last prefixed with `x` (1234067 → x001/x234/067). SPEC: C2SP tlog-tiles.
 */
export function tilePath(tile: TileRef): string {
  assertCount(tile.level, 'level');
  assertCount(tile.index, 'index');
  let digits = String(tile.index);
  digits = digits.padStart(Math.ceil(digits.length / 3) * 3, '0');
  const groups: string[] = [];
  for (let i = 0; i < digits.length; i += 3) groups.push(digits.slice(i, i + 3));
  const n = groups.map((group, i) => (i < groups.length - 1 ? `x${group}` : group)).join('/');
  return tile.width === TILE_WIDTH ? `tile/${tile.level}/${n}` : `tile/${tile.level}/${n}.p/${tile.width}`;
}

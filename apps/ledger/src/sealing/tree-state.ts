import { Injectable, Optional, type OnModuleInit } from '@nestjs/common';
import {
  appendToTiles,
  bytesEqual,
  fullTileRoot,
  GENESIS_PREVIOUS_HASH,
  isTile,
  nodeHashFromTileNodes,
  parentTileEntry,
  rightEdgeTileRefs,
  rootFromRightEdge,
  toBase64,
  tileForNode,
  tileNodes,
  tilesForNodes,
  TILE_WIDTH,
  HASH_SIZE,
  type NodeId,
  type Tile,
  type TileRef,
  type TileAppendResult,
  type TileNodes,
} from '@medledger/ledger-core';
import { LedgerRepository, type StoredBlock } from './ledger.repository';
import { LedgerMetrics } from './ledger.metrics';

/**
 * Full tiles kept in memory for proofs: 8 KiB each, plus 8 KiB of inner node hashes once a proof has used one, so
 * 4,096 of them are at most 64 MiB and cover the level-0 tiles of a million leaves (every level above is 256 times
 * smaller).
 */
export const FULL_TILE_CACHE_SIZE = 4_096;

/** The stored tree does not hash to what the ledger signed: a tile row was changed, lost or left behind. */
export const TILES_CORRUPT = 'LEDGER.TILES_CORRUPT';

/**
 * A tile row that fails its check against the signed root (at start) or against the tile above it (when a proof
 * reads it). Never served: a proof built from it would not verify, and the ledger says so instead.
 */
export class TilesCorruptError extends Error {
  override readonly name = 'TilesCorruptError';
  readonly code = TILES_CORRUPT;

  constructor(
    /** The tile(s) concerned, as `level/index` (C2SP coordinates). */
    readonly tiles: readonly string[],
    /** What is wrong, without the code. */
    readonly detail: string,
  ) {
    super(`${TILES_CORRUPT}: ${detail}`);
  }
}

const describeTile = (tile: { level: number; index: number; width?: number }) =>
  tile.width === undefined || tile.width === TILE_WIDTH
    ? `${tile.level}/${tile.index}`
    : `${tile.level}/${tile.index}.p/${tile.width}`;

/** What every leaf's data begins with, before its event's canonical bytes. */
const LEAF_PREFIX = Buffer.from('{"event":', 'utf8');

/**
 * The sequencer's view of the log head, loaded from PostgreSQL at start and advanced only after a block is
 * durable: tree size, the next block height, the hash the next block links to, and the right-edge partial
 * tiles (all that appending needs; old leaves are never read again).
 *
 * No tile row is used before it is checked (docs/design/ledger-format.md, "Storage"): the right edge, at start,
 * against the newest block's signed root; every other tile, when a proof first reads it, against the entry for it
 * in the tile above, up to a tile already checked. Tiles the ledger computed itself (write-through) need no check.
 */
@Injectable()
export class TreeState implements OnModuleInit {
  size = 0;
  nextHeight = 0;
  headHash: Uint8Array = Buffer.from(GENESIS_PREVIOUS_HASH, 'base64');
  /** When the last block was sealed: the next one is never earlier (sealingTime). */
  headSealedAt: Date | undefined;
  private rightEdge: readonly Tile[] = [];

  constructor(
    private readonly repository: LedgerRepository,
    // Optional: unit tests build a TreeState without metrics.
    @Optional() private readonly metrics?: LedgerMetrics,
  ) {}

  async onModuleInit(): Promise<void> {
    const head = await this.repository.head();
    if (!head) return;
    this.size = head.treeSize;
    this.nextHeight = head.height + 1;
    this.headHash = head.hash;
    this.headSealedAt = head.sealedAt;
    const wanted = rightEdgeTileRefs(this.size);
    const stored = await this.repository.tiles(wanted);
    const edge = wanted.map((ref) => {
      const tile = stored.find((t) => t.level === ref.level && t.index === ref.index);
      if (!tile || !isTile(tile) || tile.width !== ref.width) {
        const found = tile ? `width ${tile.width} and ${tile.hashes.length} bytes` : 'no row';
        throw new TilesCorruptError(
          [describeTile(ref)],
          `tile ${describeTile(ref)} should be on the right edge at tree size ${this.size} (block ${head.height}), found ${found}`,
        );
      }
      return tile;
    });
    // SPEC: RFC 6962 §2.1: the right edge holds every hash the root at this size is made of.
    const root = rootFromRightEdge(this.size, edge);
    if (!bytesEqual(root, head.root)) {
      const tiles = edge.map(describeTile);
      throw new TilesCorruptError(
        tiles,
        `the right-edge tiles [${tiles.join(', ')}] hash to root ${toBase64(root)} at tree size ${this.size}, ` +
          `block ${head.height} signed root ${toBase64(head.root)}: a tile row was changed; refusing to start`,
      );
    }
    this.rightEdge = edge;
  }

  /**
   * SPEC: docs/design/ledger-format.md "Leaf": the RFC 8785 canonical JSON of {event, index, receivedAt,
   * topic}, for consecutive leaves from `firstIndex`. Keys are already in canonical order and each event is already
   * canonical bytes, so concatenation is exact (tree-state.spec.ts checks it against the generic canonicalizer).
   * All of them are written into one buffer, each leaf a view of its part, which the block commit sends as is.
   */
  leavesData(
    firstIndex: number,
    events: ReadonlyArray<{ canonicalEvent: Uint8Array; receivedAt: Date; topic: string }>,
  ): Uint8Array[] {
    // Events admitted together share one receivedAt: its JSON is built once per run of them.
    let lastAt: Date | undefined;
    let lastAtJson = '';
    const suffixes = events.map((event, offset) => {
      if (event.receivedAt !== lastAt) {
        lastAt = event.receivedAt;
        lastAtJson = JSON.stringify(lastAt.toISOString());
      }
      return `,"index":${firstIndex + offset},"receivedAt":${lastAtJson},"topic":${JSON.stringify(event.topic)}}`;
    });
    let total = 0;
    events.forEach((event, i) => {
      total += LEAF_PREFIX.length + event.canonicalEvent.length + Buffer.byteLength(suffixes[i] as string, 'utf8');
    });
    const block = Buffer.allocUnsafe(total);
    let at = 0;
    return events.map((event, i) => {
      const start = at;
      block.set(LEAF_PREFIX, at);
      block.set(event.canonicalEvent, (at += LEAF_PREFIX.length));
      at += event.canonicalEvent.length;
      at += block.write(suffixes[i] as string, at, 'utf8');
      return block.subarray(start, at);
    });
  }

  /** The tiles after appending leaves with these RFC 6962 leaf hashes; the tree itself changes at commitAppend. */
  prepareAppend(leafHashes: readonly Uint8Array[]): TileAppendResult {
    return appendToTiles({ treeSize: this.size, rightEdge: this.rightEdge, leafHashes });
  }

  commitAppend(appended: TileAppendResult, block: StoredBlock): void {
    // The tiles this block filled are durable now: proofs read them from memory (write-through).
    for (const tile of appended.upserts) if (tile.width === TILE_WIDTH) this.remember(tile);
    this.size = appended.treeSize;
    this.rightEdge = appended.rightEdge;
    this.nextHeight = block.height + 1;
    this.headHash = block.hash;
    this.headSealedAt = block.sealedAt;
  }

  /**
   * Hashes of stored perfect subtrees, from the few tiles that hold them. A full tile never changes again, so the
   * full tiles sealed or read are kept in memory (FULL_TILE_CACHE_SIZE of them, least recently used out) and the
   * right edge is already here: a proof over a warm log reads no row at all. A tile read from PostgreSQL is checked
   * first (readFullTiles); one that fails throws TilesCorruptError and no hash is returned.
   */
  async nodeHashes(nodes: readonly NodeId[]): Promise<Uint8Array[]> {
    if (nodes.length === 0) return [];
    const tiles = new Map<string, Tile>();
    const missing: TileRef[] = [];
    for (const ref of tilesForNodes(nodes)) {
      const key = `${ref.level}/${ref.index}`;
      const known = this.inMemory(ref.level, ref.index, ref.width);
      if (known) tiles.set(key, known);
      else missing.push(ref);
    }
    if (missing.length > 0) for (const [key, tile] of await this.readFullTiles(missing)) tiles.set(key, tile);
    return nodes.map((node) => {
      const ref = tileForNode(node);
      const tile = tiles.get(`${ref.level}/${ref.index}`);
      if (!tile) throw new Error(`tile ${ref.level}/${ref.index} is not stored at tree size ${this.size}`);
      return nodeHashFromTileNodes(this.interior(tile), node.level, node.index);
    });
  }

  /** A tile the ledger holds and trusts: a cached full tile (moved to most recently used) or the right edge's. */
  private inMemory(level: number, index: number, width = 1): Tile | undefined {
    const key = `${level}/${index}`;
    const cached = this.fullTiles.get(key);
    if (cached) {
      this.fullTiles.delete(key); // most recently used last
      this.fullTiles.set(key, cached);
      return cached;
    }
    return this.rightEdge.find((t) => t.level === level && t.index === index && t.width >= width);
  }

  /**
   * Full tiles that are not in memory, read from PostgreSQL in one query together with those of the tiles above
   * them that are not in memory either, and checked top down: each must be full and hash to its entry in the tile
   * above (SPEC: C2SP tlog-tiles), which is in memory (the right edge was checked against the signed root at start;
   * cached tiles were checked or computed here) or was checked just before it. So a changed byte in any row is
   * caught the first time a proof would read it. A cold proof pays at most one more row per tile level and the
   * root of each row read (whose interior the proof computes anyway); a warm one pays nothing.
   */
  private async readFullTiles(refs: readonly TileRef[]): Promise<Map<string, Tile>> {
    const top = this.rightEdge.reduce((level, tile) => Math.max(level, tile.level), -1);
    // The trusted tiles each chain ends at, taken now: the right edge may move on while the rows are read.
    const trusted = new Map<string, Tile>();
    const toRead = new Map<string, { level: number; index: number }>();
    for (const ref of refs) {
      for (let level = ref.level, index = ref.index; ; index = Math.floor(index / TILE_WIDTH), level++) {
        const key = `${level}/${index}`;
        if (toRead.has(key) || trusted.has(key)) break;
        const known = this.inMemory(level, index);
        if (known) {
          trusted.set(key, known);
          break;
        }
        // Above the right edge's top level there is no tile: a proof asked for a node the tree does not have.
        if (level >= top) throw new Error(`tile ${key} is beyond the tree of size ${this.size}`);
        toRead.set(key, { level, index });
      }
    }
    const rows = new Map(
      (await this.repository.tiles([...toRead.values()])).map((tile) => [`${tile.level}/${tile.index}`, tile]),
    );
    this.metrics?.proofTileRowsRead.inc(rows.size);
    const read = new Map<string, Tile>();
    for (const { level, index } of [...toRead.values()].sort((a, b) => b.level - a.level)) {
      const key = `${level}/${index}`;
      const tile = rows.get(key);
      if (!tile || !isTile(tile) || tile.width !== TILE_WIDTH) {
        const found = tile ? `width ${tile.width} and ${tile.hashes.length} bytes` : 'no row';
        throw new TilesCorruptError(
          [key],
          `tile ${key} should be a full tile at tree size ${this.size}, found ${found}`,
        );
      }
      const above = parentTileEntry(tile);
      const aboveKey = `${above.level}/${above.index}`;
      const parent = trusted.get(aboveKey) ?? read.get(aboveKey);
      const expected = parent?.hashes.subarray(above.entry * HASH_SIZE, (above.entry + 1) * HASH_SIZE);
      const root = fullTileRoot(this.interior(tile));
      if (!expected || expected.length !== HASH_SIZE || !bytesEqual(root, expected)) {
        throw new TilesCorruptError(
          [key],
          `tile ${key} hashes to ${toBase64(root)}, but entry ${above.entry} of tile ${aboveKey} is ` +
            `${expected?.length === HASH_SIZE ? toBase64(expected) : 'missing'}: the row was changed`,
        );
      }
      read.set(key, tile);
      this.remember(tile);
    }
    return read;
  }

  /**
   * A tile's inner node hashes, computed the first time a proof needs one of them and kept as long as the tile
   * is (a cached full tile, or the current right edge): a node high in its tile would otherwise cost up to 255
   * SHA-256 per proof, and a hash per node kept apart would cost the garbage collector far more than one buffer.
   */
  private interior(tile: Tile): TileNodes {
    let nodes = this.interiors.get(tile);
    if (!nodes) this.interiors.set(tile, (nodes = tileNodes(tile)));
    return nodes;
  }

  private readonly interiors = new WeakMap<Tile, TileNodes>();

  private readonly fullTiles = new Map<string, Tile>();

  private remember(tile: Tile): void {
    this.fullTiles.set(`${tile.level}/${tile.index}`, tile);
    if (this.fullTiles.size > FULL_TILE_CACHE_SIZE) this.fullTiles.delete(this.fullTiles.keys().next().value as string);
  }
}

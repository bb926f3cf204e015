import { Injectable, type OnModuleInit } from '@nestjs/common';
import {
  appendToTiles,
  GENESIS_PREVIOUS_HASH,
  nodeHashFromTileNodes,
  rightEdgeTileRefs,
  tileForNode,
  tileNodes,
  tilesForNodes,
  TILE_WIDTH,
  type NodeId,
  type Tile,
  type TileRef,
  type TileAppendResult,
  type TileNodes,
} from '@medledger/ledger-core';
import { LedgerRepository, type StoredBlock } from './ledger.repository';

/**
 * Full tiles kept in memory for proofs: 8 KiB each, plus 8 KiB of inner node hashes once a proof has used one, so
 * 4,096 of them are at most 64 MiB and cover the level-0 tiles of a million leaves (every level above is 256 times
 * smaller).
 */
export const FULL_TILE_CACHE_SIZE = 4_096;

/** What every leaf's data begins with, before its event's canonical bytes. */
const LEAF_PREFIX = Buffer.from('{"event":', 'utf8');

/**
 * The sequencer's view of the log head, loaded from PostgreSQL at start and advanced only after a block is
 * durable: tree size, the next block height, the hash the next block links to, and the right-edge partial
 * tiles (all that appending needs; old leaves are never read again).
 */
@Injectable()
export class TreeState implements OnModuleInit {
  size = 0;
  nextHeight = 0;
  headHash: Uint8Array = Buffer.from(GENESIS_PREVIOUS_HASH, 'base64');
  /** When the last block was sealed: the next one is never earlier (sealingTime). */
  headSealedAt: Date | undefined;
  private rightEdge: readonly Tile[] = [];

  constructor(private readonly repository: LedgerRepository) {}

  async onModuleInit(): Promise<void> {
    const head = await this.repository.head();
    if (!head) return;
    this.size = head.treeSize;
    this.nextHeight = head.height + 1;
    this.headHash = head.hash;
    this.headSealedAt = head.sealedAt;
    const wanted = rightEdgeTileRefs(this.size);
    const stored = await this.repository.tiles(wanted);
    this.rightEdge = wanted.map((ref) => {
      const tile = stored.find((t) => t.level === ref.level && t.index === ref.index);
      if (!tile || tile.width !== ref.width) {
        throw new Error(`tile ${ref.level}/${ref.index} should have width ${ref.width} at tree size ${this.size}`);
      }
      return tile;
    });
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
   * right edge is already here: a proof over a warm log reads no row at all.
   */
  async nodeHashes(nodes: readonly NodeId[]): Promise<Uint8Array[]> {
    if (nodes.length === 0) return [];
    const tiles = new Map<string, Tile>();
    const missing: TileRef[] = [];
    for (const ref of tilesForNodes(nodes)) {
      const key = `${ref.level}/${ref.index}`;
      const cached = this.fullTiles.get(key);
      const edge = this.rightEdge.find((t) => t.level === ref.level && t.index === ref.index && t.width >= ref.width);
      if (cached) {
        this.fullTiles.delete(key); // most recently used last
        this.fullTiles.set(key, cached);
        tiles.set(key, cached);
      } else if (edge) tiles.set(key, edge);
      else missing.push(ref);
    }
    if (missing.length > 0)
      for (const tile of await this.repository.tiles(missing)) {
        tiles.set(`${tile.level}/${tile.index}`, tile);
        if (tile.width === TILE_WIDTH) this.remember(tile);
      }
    return nodes.map((node) => {
      const ref = tileForNode(node);
      const tile = tiles.get(`${ref.level}/${ref.index}`);
      if (!tile) throw new Error(`tile ${ref.level}/${ref.index} is not stored at tree size ${this.size}`);
      return nodeHashFromTileNodes(this.interior(tile), node.level, node.index);
    });
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

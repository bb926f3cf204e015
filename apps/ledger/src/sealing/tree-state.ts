import { Injectable, type OnModuleInit } from '@nestjs/common';
import {
  appendToTiles,
  GENESIS_PREVIOUS_HASH,
  leafHash,
  nodeHashesFromTiles,
  rightEdgeTileRefs,
  tilesForNodes,
  type NodeId,
  type Tile,
  type TileAppendResult,
} from '@medledger/ledger-core';
import { LedgerRepository, type StoredBlock } from './ledger.repository';

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
  private rightEdge: readonly Tile[] = [];

  constructor(private readonly repository: LedgerRepository) {}

  async onModuleInit(): Promise<void> {
    const head = await this.repository.head();
    if (!head) return;
    this.size = head.treeSize;
    this.nextHeight = head.height + 1;
    this.headHash = head.hash;
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
   * topic}. Keys are already in canonical order and the event is already canonical, so concatenation is
   * exact (tree-state.spec.ts checks it against the generic canonicalizer).
   */
  leafData(index: number, event: { canonicalEvent: string; receivedAt: Date; topic: string }): Uint8Array {
    return Buffer.from(
      `{"event":${event.canonicalEvent},"index":${index},"receivedAt":${JSON.stringify(event.receivedAt.toISOString())},"topic":${JSON.stringify(event.topic)}}`,
      'utf8',
    );
  }

  prepareAppend(leafData: readonly Uint8Array[]): TileAppendResult {
    return appendToTiles({ treeSize: this.size, rightEdge: this.rightEdge, leafHashes: leafData.map(leafHash) });
  }

  commitAppend(appended: TileAppendResult, block: StoredBlock): void {
    this.size = appended.treeSize;
    this.rightEdge = appended.rightEdge;
    this.nextHeight = block.height + 1;
    this.headHash = block.hash;
  }

  /** Hashes of stored perfect subtrees, read from the few tiles that hold them. */
  async nodeHashes(nodes: readonly NodeId[]): Promise<Uint8Array[]> {
    if (nodes.length === 0) return [];
    return nodeHashesFromTiles(nodes, await this.repository.tiles(tilesForNodes(nodes)));
  }
}

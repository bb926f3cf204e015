import { Injectable, Logger } from '@nestjs/common';
import {
  assembleProof,
  consistencyProofNodes,
  inclusionProofNodes,
  verifierKey,
  type NodeId,
} from '@medledger/ledger-core';
import { ProblemException } from '@medledger/platform';
import { LedgerMetrics } from '../sealing/ledger.metrics';
import { LedgerRepository, type StoredBlock, type StoredLeaf } from '../sealing/ledger.repository';
import { TilesCorruptError, TreeState } from '../sealing/tree-state';
import { MAX_PAGE, MAX_PROOF_EVENTS } from './ledger.controller';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

export function presentBlock(block: StoredBlock) {
  return {
    height: block.height,
    previousHash: b64(block.previousHash),
    firstLeafIndex: block.firstLeafIndex,
    leafCount: block.leafCount,
    treeSize: block.treeSize,
    root: b64(block.root),
    sealedAt: block.sealedAt.toISOString(),
    keyId: block.keyId,
    // Only where a key changes: elsewhere the member is absent, as in the signed header.
    ...(block.keyChange === null ? {} : { keyChange: block.keyChange }),
    signature: b64(block.signature),
    hash: b64(block.hash),
    checkpoint: block.checkpoint,
  };
}

function presentLeaf(leaf: StoredLeaf) {
  return { index: leaf.index, eventId: leaf.eventId, leafData: b64(leaf.data) };
}

/** Reads behind the HTTP API. Proofs read O(log n) stored hashes (a few tile rows), never the leaves. */
@Injectable()
export class LedgerQueries {
  private readonly logger = new Logger(LedgerQueries.name);

  constructor(
    private readonly repository: LedgerRepository,
    private readonly tree: TreeState,
    private readonly metrics: LedgerMetrics,
  ) {}

  async checkpoint(): Promise<string> {
    const head = await this.repository.head();
    if (!head)
      throw new ProblemException(404, 'LEDGER.EMPTY', 'Nothing sealed yet', { detail: 'the log has no block yet' });
    return head.checkpoint;
  }

  async latestBlock() {
    const head = await this.repository.head();
    if (!head)
      throw new ProblemException(404, 'LEDGER.EMPTY', 'Nothing sealed yet', { detail: 'the log has no block yet' });
    return presentBlock(head);
  }

  async block(height: number) {
    const block = await this.repository.block(height);
    if (!block)
      throw new ProblemException(404, 'LEDGER.BLOCK_NOT_FOUND', 'No such block', {
        detail: `no block at height ${height}`,
      });
    return presentBlock(block);
  }

  async blocks(from: number, limit: number) {
    const blocks = await this.repository.blocks(from, limit);
    const last = blocks.at(-1);
    return { blocks: blocks.map(presentBlock), next: last && blocks.length === limit ? last.height + 1 : null };
  }

  async leaves(start: number, end: number) {
    const size = this.tree.size;
    if (start >= end) throw this.range(`start (${start}) must be below end (${end})`);
    if (end > size) throw this.range(`end (${end}) is beyond the tree size (${size})`);
    if (end - start > MAX_PAGE) throw this.range(`at most ${MAX_PAGE} leaves per request`);
    return { leaves: (await this.repository.leaves(start, end)).map(presentLeaf) };
  }

  async event(eventId: string) {
    const leaf = await this.repository.leafByEventId(eventId);
    if (!leaf)
      throw new ProblemException(404, 'LEDGER.EVENT_NOT_FOUND', 'No such event', {
        detail: `event ${eventId} is not in the log`,
      });
    return {
      eventId: leaf.eventId,
      index: leaf.index,
      blockHeight: leaf.blockHeight,
      topic: leaf.topic,
      leafData: b64(leaf.data),
    };
  }

  async inclusionProof(index: number, treeSize: number) {
    const size = this.tree.size;
    if (treeSize > size) throw this.range(`treeSize (${treeSize}) is beyond the current tree size (${size})`);
    if (index >= treeSize) throw this.range(`index (${index}) must be below treeSize (${treeSize})`);
    const nodes = inclusionProofNodes(index, treeSize);
    const hashes = assembleProof(nodes, await this.proofHashes(nodes.ids));
    return { index, treeSize, hashes: hashes.map(b64) };
  }

  /**
   * What a producing service needs to prove its own events of one block (ADR 0010): the block with its checkpoint,
   * and for each of these event ids that the block holds its leaf and inclusion proof at the block's tree size. The
   * ids the block does not hold are listed as `absent`. One tile read for all the proofs.
   */
  async blockProofs(height: number, eventIds: readonly string[]) {
    const ids = [...new Set(eventIds)];
    if (ids.length === 0) throw this.range('events must name at least one event id');
    if (ids.length > MAX_PROOF_EVENTS) throw this.range(`at most ${MAX_PROOF_EVENTS} event ids per request`);
    const block = await this.repository.block(height);
    if (!block)
      throw new ProblemException(404, 'LEDGER.BLOCK_NOT_FOUND', 'No such block', {
        detail: `no block at height ${height}`,
      });
    const leaves = (await this.repository.leavesByEventIds(ids)).filter((leaf) => leaf.blockHeight === height);
    const nodes = leaves.map((leaf) => inclusionProofNodes(leaf.index, block.treeSize));
    const hashes = await this.proofHashes(nodes.flatMap((proof) => proof.ids));
    let offset = 0;
    const proofs = leaves.map((leaf, i) => {
      const proof = nodes[i] as ReturnType<typeof inclusionProofNodes>;
      const own = hashes.slice(offset, offset + proof.ids.length);
      offset += proof.ids.length;
      return { ...presentLeaf(leaf), hashes: assembleProof(proof, own).map(b64) };
    });
    const held = new Set(leaves.map((leaf) => leaf.eventId));
    return { block: presentBlock(block), proofs, absent: ids.filter((id) => !held.has(id)) };
  }

  async consistencyProof(from: number, to: number) {
    const size = this.tree.size;
    if (to > size) throw this.range(`to (${to}) is beyond the current tree size (${size})`);
    if (from > to) throw this.range(`from (${from}) must not exceed to (${to})`);
    // SPEC: RFC 9162 §2.1.4: consistency is defined between two non-empty trees (0 < from <= to).
    if (from < 1) throw this.range('from must be at least 1');
    const nodes = consistencyProofNodes(from, to);
    const hashes = assembleProof(nodes, await this.proofHashes(nodes.ids));
    return { from, to, hashes: hashes.map(b64) };
  }

  async keys() {
    const keys = await this.repository.keys();
    return {
      keys: keys.map((key) => ({
        keyId: key.keyId,
        name: key.name,
        publicKey: b64(key.publicKey),
        verifierKey: verifierKey(key.name, key.publicKey),
        addedAt: key.addedAt.toISOString(),
        firstHeight: key.firstHeight,
        lastHeight: key.lastHeight,
        blocks: key.blocks,
      })),
    };
  }

  /**
   * The node hashes a proof is made of. A tile row that fails its check (TreeState) is never turned into a proof
   * that would not verify: the request gets 500 LEDGER.TILES_CORRUPT, and the operator an error log and
   * `ledger_tiles_corrupt_total`. Sealing goes on (it reads only the right edge, held in memory).
   */
  private async proofHashes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    try {
      return await this.tree.nodeHashes(ids);
    } catch (error) {
      if (!(error instanceof TilesCorruptError)) throw error;
      this.metrics.tilesCorrupt.inc();
      this.logger.error(
        { code: error.code, tiles: error.tiles },
        `STORED TREE CORRUPT, proof refused: ${error.message}. The rows must be restored (from a backup, or recomputed from the leaves).`,
      );
      throw new ProblemException(500, error.code, 'Stored tree corrupt', {
        detail: `${error.detail}; the ledger refuses to serve a proof that would not verify`,
        tiles: error.tiles,
      });
    }
  }

  private range(detail: string): ProblemException {
    return new ProblemException(400, 'LEDGER.OUT_OF_RANGE', 'Out of range', { detail });
  }
}

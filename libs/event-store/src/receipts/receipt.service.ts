import { Inject, Injectable } from '@nestjs/common';
import { parseCheckpoint, parseNote, parseVerifierKey, verifyReceipt, type NoteVerifier } from '@medledger/ledger-core';
import type { BlockSealedData } from '@medledger/contracts';
import { ProblemException } from '@medledger/platform';
import { EVENT_STORE_CONFIG, EVENT_STORE_SQL } from '../tokens';
import type { EventStoreConfig } from '../config';
import type { Sql, TransactionalSql } from '../sql';
import { LedgerClient, LedgerUnavailable } from './ledger-client';

/** Stable codes of the receipt API besides the verification failures of {@link verifyReceipt}. */
export const ReceiptError = {
  EVENT_NOT_FOUND: 'RECEIPT.EVENT_NOT_FOUND',
  NOT_SEALED: 'RECEIPT.NOT_SEALED',
  LEDGER_UNAVAILABLE: 'RECEIPT.LEDGER_UNAVAILABLE',
  NO_LEDGER_KEY: 'RECEIPT.NO_LEDGER_KEY',
} as const;

/** Unsealed events listed at most per request. */
export const UNSEALED_LIST_LIMIT = 1_000;

interface OutboxRow {
  event_id: string;
  envelope: Record<string, unknown>;
  created_at: Date;
  published_at: Date | null;
}

interface ReceiptRow {
  leaf_index: bigint;
  block_height: bigint;
  tree_size: bigint;
  received_at: Date;
}

/** Where the ledger sealed one of our events (from ledger.BlockSealed, as stored). */
export interface SealedAt {
  leafIndex: number;
  blockHeight: number;
  treeSize: number;
}

/** Receipts: where the ledger sealed each of this service's public events, proven with ledger-core. */
@Injectable()
export class ReceiptService {
  private readonly ledger: LedgerClient;
  private readonly ledgerKeys: NoteVerifier[];

  constructor(
    @Inject(EVENT_STORE_SQL) private readonly client: TransactionalSql,
    @Inject(EVENT_STORE_CONFIG) private readonly config: EventStoreConfig,
  ) {
    this.ledger = new LedgerClient(config.LEDGER_URL);
    this.ledgerKeys = config.LEDGER_VERIFIER_KEYS.map((vkey) => {
      const parsed = parseVerifierKey(vkey);
      if (!parsed.ok) throw new Error(`LEDGER_VERIFIER_KEYS: invalid key "${vkey}": ${parsed.reason}`);
      return parsed.value;
    });
  }

  /** Stores the receipts of our own events in a sealed block (others' events are not ours to keep). */
  async recordBlock(tx: Sql, block: BlockSealedData): Promise<number> {
    if (block.events.length === 0) return 0;
    return tx.$executeRawUnsafe(
      `INSERT INTO es_receipt (event_id, leaf_index, block_height, tree_size, checkpoint, received_at)
       SELECT o.event_id, x.idx, $2::bigint, $3::bigint, $4, now()
       FROM jsonb_to_recordset($1::jsonb) AS x(event_id text, idx bigint)
       JOIN es_outbox o ON o.event_id = x.event_id
       ON CONFLICT (event_id) DO NOTHING`,
      JSON.stringify(block.events.map((e) => ({ event_id: e.eventId, idx: e.index }))),
      String(block.height),
      String(block.treeSize),
      block.checkpoint,
    );
  }

  /**
   * The event, its block, an inclusion proof and the latest checkpoint, fetched from the ledger and verified
   * here against the pinned ledger keys before anything is returned. A receipt that does not verify is a 502.
   */
  async receipt(eventId: string) {
    const [event] = await this.client.$queryRawUnsafe<OutboxRow[]>(
      'SELECT event_id, envelope, created_at, published_at FROM es_outbox WHERE event_id = $1',
      eventId,
    );
    if (!event)
      throw new ProblemException(404, ReceiptError.EVENT_NOT_FOUND, 'No such event', {
        detail: `this service published no event ${eventId}`,
      });
    const [stored] = await this.client.$queryRawUnsafe<ReceiptRow[]>(
      'SELECT leaf_index, block_height, tree_size, received_at FROM es_receipt WHERE event_id = $1',
      eventId,
    );
    if (!stored)
      throw new ProblemException(404, ReceiptError.NOT_SEALED, 'Not sealed yet', {
        detail: event.published_at
          ? `published at ${event.published_at.toISOString()}, no block has sealed it yet`
          : 'not yet published to Kafka (outbox)',
      });
    if (this.ledgerKeys.length === 0)
      throw new ProblemException(503, ReceiptError.NO_LEDGER_KEY, 'No ledger key is pinned', {
        detail: 'set LEDGER_VERIFIER_KEYS to the ledger verifier key(s) to verify receipts',
      });

    const leafIndex = Number(stored.leaf_index);
    const blockHeight = Number(stored.block_height);
    let material;
    try {
      const checkpoint = await this.ledger.checkpoint();
      // Only to choose the proof's tree size: the checkpoint itself is verified below with everything else.
      const note = parseNote(checkpoint);
      const body = note.ok ? parseCheckpoint(note.value.text) : undefined;
      const size = body?.ok ? body.value.size : 0;
      const [leaf, block] = await Promise.all([this.ledger.event(eventId), this.ledger.block(blockHeight)]);
      if (!leaf) throw new LedgerUnavailable(`the ledger does not know event ${eventId}`);
      const proof = size > leafIndex ? await this.ledger.inclusionProof(leafIndex, size) : [];
      material = {
        eventId,
        envelope: event.envelope,
        leafIndex,
        blockHeight,
        leafData: leaf.leafData,
        block,
        checkpoint,
        proof,
      };
    } catch (error) {
      if (!(error instanceof LedgerUnavailable)) throw error;
      throw new ProblemException(503, ReceiptError.LEDGER_UNAVAILABLE, 'The ledger did not answer', {
        detail: error.message,
      });
    }
    const verdict = verifyReceipt(material, this.ledgerKeys, this.config.LEDGER_ORIGIN);
    if (!verdict.ok)
      throw new ProblemException(502, verdict.code, 'The ledger gave a receipt that does not verify', {
        detail: verdict.reason,
      });
    return {
      eventId,
      event: event.envelope,
      leaf: { index: leafIndex, data: material.leafData },
      block: verdict.block,
      checkpoint: material.checkpoint,
      proof: { index: leafIndex, treeSize: verdict.checkpoint.size, hashes: material.proof },
      verified: { checkpointSignature: true, blockSignature: true, leafMatchesEvent: true, inclusion: true },
    };
  }

  /**
   * Where the ledger sealed each of these events, by id (an event not sealed yet is absent), from the stored
   * receipts alone: nothing is fetched or verified (that is {@link receipt}). `sql`: a transaction's, or the pool.
   */
  async sealedAt(eventIds: readonly string[], sql: Sql = this.client): Promise<Map<string, SealedAt>> {
    if (eventIds.length === 0) return new Map();
    const rows = await sql.$queryRawUnsafe<
      Array<{ event_id: string; leaf_index: bigint; block_height: bigint; tree_size: bigint }>
    >(
      'SELECT event_id, leaf_index, block_height, tree_size FROM es_receipt WHERE event_id = ANY($1::text[])',
      eventIds,
    );
    return new Map(
      rows.map((row) => [
        row.event_id,
        { leafIndex: Number(row.leaf_index), blockHeight: Number(row.block_height), treeSize: Number(row.tree_size) },
      ]),
    );
  }

  /** Published events still without a receipt `olderThanMs` after they were committed. */
  async unsealed(olderThanMs = this.config.RECEIPT_UNSEALED_AFTER_MS) {
    const rows = await this.client.$queryRawUnsafe<Array<OutboxRow & { topic: string }>>(
      `SELECT o.event_id, o.topic, o.created_at, o.published_at FROM es_outbox o
       LEFT JOIN es_receipt r ON r.event_id = o.event_id
       WHERE r.event_id IS NULL AND o.created_at < now() - ($1::int * interval '1 millisecond')
       ORDER BY o.position LIMIT ${UNSEALED_LIST_LIMIT}`,
      olderThanMs,
    );
    return {
      olderThanMs,
      events: rows.map((row) => ({
        eventId: row.event_id,
        topic: row.topic,
        committedAt: row.created_at.toISOString(),
        publishedAt: row.published_at?.toISOString() ?? null,
      })),
    };
  }

  async unsealedCount(): Promise<number> {
    const [row] = await this.client.$queryRawUnsafe<Array<{ n: bigint }>>(
      `SELECT count(*) AS n FROM es_outbox o LEFT JOIN es_receipt r ON r.event_id = o.event_id
       WHERE r.event_id IS NULL AND o.created_at < now() - ($1::int * interval '1 millisecond')`,
      this.config.RECEIPT_UNSEALED_AFTER_MS,
    );
    return Number(row?.n ?? 0);
  }
}

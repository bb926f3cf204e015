import { Inject, Injectable, Logger } from '@nestjs/common';
import { parseCheckpoint, parseNote, parseVerifierKey, verifyReceipt, type NoteVerifier } from '@medledger/ledger-core';
import type { BlockSealedData } from '@medledger/contracts';
import { ProblemException } from '@medledger/platform';
import { EVENT_STORE_CONFIG, EVENT_STORE_SQL } from '../tokens';
import type { EventStoreConfig } from '../config';
import type { Sql, TransactionalSql } from '../sql';
import { MessageRejected } from '../reliable-consumer';
import { checkAnnouncement, proveAnnouncement, proveBlock, type ProvenReceipt } from './announcement';
import { LedgerClient, LedgerUnavailable } from './ledger-client';

/** Stable codes of the receipt API besides the verification failures of {@link verifyReceipt}. */
export const ReceiptError = {
  EVENT_NOT_FOUND: 'RECEIPT.EVENT_NOT_FOUND',
  NOT_SEALED: 'RECEIPT.NOT_SEALED',
  LEDGER_UNAVAILABLE: 'RECEIPT.LEDGER_UNAVAILABLE',
  NO_LEDGER_KEY: 'RECEIPT.NO_LEDGER_KEY',
  /** A ledger.BlockSealed that contradicts the ledger's signed material (dead-lettered with this code). */
  ANNOUNCEMENT_MISMATCH: 'RECEIPT.ANNOUNCEMENT_MISMATCH',
} as const;

/** Unsealed events listed at most per request. */
export const UNSEALED_LIST_LIMIT = 1_000;

/** Unverified receipts taken per pass of {@link ReceiptService.verifyPending} (a pass asks once per block). */
export const RECEIPT_VERIFY_BATCH = 1_000;

/** What became of an announced block's receipts. */
export type RecordedBlock = 'none-ours' | 'verified' | 'pending';

/** What a pass over unverified receipts did. */
export interface VerifyPass {
  verified: number;
  /** Claims the ledger's signed material does not support (removed; the event counts as unsealed again). */
  removed: number;
  /** Left for the next pass: the ledger did not answer, or its answer did not verify. */
  waiting: number;
}

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
  private readonly logger = new Logger(ReceiptService.name);
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
    if (this.ledgerKeys.length === 0)
      this.logger.warn('LEDGER_VERIFIER_KEYS is empty: no receipt can be verified, so every event counts as unsealed');
  }

  /**
   * Keeps the receipts of our own events in an announced block, only once they are proven (ADR 0010): the
   * announcement's checkpoint is verified against the pinned keys before anything else, then the ledger is asked
   * (one request per block) for the block, its checkpoint and each of our events' leaf and inclusion proof, and all of
   * it must agree with the announcement. A forged or contradicted announcement throws {@link MessageRejected} (the
   * consumer dead-letters it with the code; nothing is kept, not even its inbox row). When the ledger does not answer,
   * or no ledger key is pinned, the receipts are kept unverified (`verified_at` null: not a receipt to any reader) and
   * {@link verifyPending} proves them later. Others' events are not ours to keep.
   */
  async recordBlock(tx: Sql, block: BlockSealedData): Promise<RecordedBlock> {
    if (this.ledgerKeys.length > 0) {
      const refused = checkAnnouncement(block, this.ledgerKeys, this.config.LEDGER_ORIGIN);
      if (refused) throw new MessageRejected(refused.code, refused.reason);
    }
    if (block.events.length === 0) return 'none-ours';
    const own = await tx.$queryRawUnsafe<Array<{ event_id: string; envelope: Record<string, unknown> }>>(
      'SELECT event_id, envelope FROM es_outbox WHERE event_id = ANY($1::text[])',
      block.events.map((event) => event.eventId),
    );
    if (own.length === 0) return 'none-ours';
    const envelopes = new Map(own.map((row) => [row.event_id, row.envelope]));
    if (this.ledgerKeys.length > 0) {
      // Inside the consumer's transaction: one connection held for at most one ledger request per 200 events.
      try {
        const answer = await this.ledger.blockProofs(block.height, [...envelopes.keys()]);
        if (!answer)
          throw new MessageRejected(ReceiptError.ANNOUNCEMENT_MISMATCH, `the ledger has no block ${block.height}`);
        const proven = proveAnnouncement(block, answer, envelopes, this.ledgerKeys, this.config.LEDGER_ORIGIN);
        if (!proven.ok) throw new MessageRejected(proven.code, proven.reason);
        await this.storeVerified(tx, proven.receipts);
        return 'verified';
      } catch (error) {
        if (!(error instanceof LedgerUnavailable)) throw error;
        this.logger.warn(`block ${block.height}: receipts kept unverified until the ledger answers: ${error.message}`);
      }
    }
    await tx.$executeRawUnsafe(
      `INSERT INTO es_receipt (event_id, leaf_index, block_height, tree_size, checkpoint, received_at)
       SELECT x.event_id, x.idx, $2::bigint, $3::bigint, $4, now()
       FROM jsonb_to_recordset($1::jsonb) AS x(event_id text, idx bigint)
       WHERE x.event_id = ANY($5::text[])
       ON CONFLICT (event_id) DO NOTHING`,
      JSON.stringify(block.events.map((e) => ({ event_id: e.eventId, idx: e.index }))),
      String(block.height),
      String(block.treeSize),
      block.checkpoint,
      [...envelopes.keys()],
    );
    return 'pending';
  }

  /**
   * One pass over receipts kept without proof (the ledger did not answer, or rows from before receipts were
   * verified): each block they name is asked for once and proven as {@link recordBlock} proves an announcement, except
   * that the ledger's proven word replaces the stored claim: a receipt at the wrong index is corrected, one whose
   * event the block does not hold is moved to the block the ledger names (proven on the next pass) or removed.
   */
  async verifyPending(limit = RECEIPT_VERIFY_BATCH): Promise<VerifyPass> {
    const pass: VerifyPass = { verified: 0, removed: 0, waiting: 0 };
    if (this.ledgerKeys.length === 0) return pass;
    const rows = await this.client.$queryRawUnsafe<
      Array<{ event_id: string; block_height: bigint; envelope: Record<string, unknown> }>
    >(
      `SELECT r.event_id, r.block_height, o.envelope FROM es_receipt r JOIN es_outbox o ON o.event_id = r.event_id
       WHERE r.verified_at IS NULL ORDER BY r.block_height LIMIT $1`,
      limit,
    );
    const byBlock = new Map<number, Map<string, Record<string, unknown>>>();
    for (const row of rows) {
      const height = Number(row.block_height);
      const envelopes = byBlock.get(height) ?? new Map<string, Record<string, unknown>>();
      envelopes.set(row.event_id, row.envelope);
      byBlock.set(height, envelopes);
    }
    let left = rows.length;
    for (const [height, envelopes] of byBlock) {
      try {
        const answer = await this.ledger.blockProofs(height, [...envelopes.keys()]);
        const proven = answer
          ? proveBlock(answer, envelopes, this.ledgerKeys, this.config.LEDGER_ORIGIN)
          : { ok: true as const, receipts: [], absent: [...envelopes.keys()] };
        if (!proven.ok) {
          this.logger.error(`block ${height}: the ledger's proofs do not verify (${proven.code}): ${proven.reason}`);
          pass.waiting += envelopes.size;
          left -= envelopes.size;
          continue;
        }
        // Where the log holds each event the block does not (asked before the transaction, not inside it).
        const elsewhere = new Map<string, number>();
        for (const eventId of proven.absent) {
          const leaf = await this.ledger.event(eventId);
          if (leaf && leaf.blockHeight !== height) elsewhere.set(eventId, leaf.blockHeight);
        }
        const removed = proven.absent.filter((eventId) => !elsewhere.has(eventId));
        await this.client.$transaction(async (tx) => {
          await this.storeVerified(tx, proven.receipts);
          for (const [eventId, blockHeight] of elsewhere)
            await tx.$executeRawUnsafe(
              'UPDATE es_receipt SET block_height = $2 WHERE event_id = $1 AND verified_at IS NULL',
              eventId,
              String(blockHeight),
            );
          if (removed.length > 0)
            await tx.$executeRawUnsafe(
              'DELETE FROM es_receipt WHERE event_id = ANY($1::text[]) AND verified_at IS NULL',
              removed,
            );
        });
        pass.verified += proven.receipts.length;
        pass.removed += removed.length;
        left -= envelopes.size;
        if (proven.absent.length > 0)
          this.logger.warn(
            `block ${height} does not hold ${proven.absent.length} event(s) a stored receipt named: ` +
              `${elsewhere.size} moved to the block the ledger names, ${removed.length} removed`,
          );
      } catch (error) {
        if (!(error instanceof LedgerUnavailable)) throw error;
        pass.waiting += left;
        this.logger.warn(`unverified receipts wait for the ledger: ${error.message}`);
        break;
      }
    }
    return pass;
  }

  /** Receipts proven: inserted, or replacing the unverified claim for the same event; a verified one stands. */
  private async storeVerified(tx: Sql, receipts: readonly ProvenReceipt[]): Promise<void> {
    if (receipts.length === 0) return;
    await tx.$executeRawUnsafe(
      `INSERT INTO es_receipt (event_id, leaf_index, block_height, tree_size, checkpoint, received_at, verified_at)
       SELECT x.event_id, x.idx, x.height, x.size, x.checkpoint, now(), now()
       FROM jsonb_to_recordset($1::jsonb) AS x(event_id text, idx bigint, height bigint, size bigint, checkpoint text)
       ON CONFLICT (event_id) DO UPDATE SET leaf_index = EXCLUDED.leaf_index, block_height = EXCLUDED.block_height,
         tree_size = EXCLUDED.tree_size, checkpoint = EXCLUDED.checkpoint, verified_at = EXCLUDED.verified_at
       WHERE es_receipt.verified_at IS NULL`,
      JSON.stringify(
        receipts.map((r) => ({
          event_id: r.eventId,
          idx: r.leafIndex,
          height: r.blockHeight,
          size: r.treeSize,
          checkpoint: r.checkpoint,
        })),
      ),
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
      'SELECT leaf_index, block_height, tree_size, received_at FROM es_receipt WHERE event_id = $1 AND verified_at IS NOT NULL',
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
      'SELECT event_id, leaf_index, block_height, tree_size FROM es_receipt WHERE event_id = ANY($1::text[]) AND verified_at IS NOT NULL',
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
       LEFT JOIN es_receipt r ON r.event_id = o.event_id AND r.verified_at IS NOT NULL
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
      `SELECT count(*) AS n FROM es_outbox o
       LEFT JOIN es_receipt r ON r.event_id = o.event_id AND r.verified_at IS NOT NULL
       WHERE r.event_id IS NULL AND o.created_at < now() - ($1::int * interval '1 millisecond')`,
      this.config.RECEIPT_UNSEALED_AFTER_MS,
    );
    return Number(row?.n ?? 0);
  }
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import { blockSealedEnvelope, LEDGER_BLOCKS_TOPIC, type BlockSealedData } from '@medledger/contracts';
import { KafkaGateway, PRISMA } from '@medledger/platform';
import type { PrismaClient } from '../generated/prisma/client';
import { LEDGER_CONFIG, type LedgerConfig } from '../ledger.config';
import { WitnessCollector } from '../witnesses/witness-collector';
import { LedgerRepository, type StoredBlock } from './ledger.repository';

/** Blocks read per page when announcing the ones a crash left unannounced (each page, then its leaves' ids). */
const CATCH_UP_PAGE = 100;

/** The announcement of a stored block: its header fields, checkpoint and each leaf's event id and index. */
export function announcementOf(block: StoredBlock, events: BlockSealedData['events']): BlockSealedData {
  return {
    height: block.height,
    treeSize: block.treeSize,
    root: Buffer.from(block.root).toString('base64'),
    blockHash: Buffer.from(block.hash).toString('base64'),
    checkpoint: block.checkpoint,
    events,
  };
}

/**
 * Announces sealed blocks on `ledger.BlockSealed`, at least once each (ADR 0010). The outbox is the block table
 * itself: a block is committed with its leaves in one statement, and `announcement_cursor` holds the highest height
 * announced, moved forward only after Kafka acknowledged the announcement. A crash between a block's commit and its
 * announcement leaves it above the cursor, and {@link announcePending} sends it on the next start. A crash after the
 * send but before the cursor moved announces it twice: consumers know a block by its height and hash.
 */
@Injectable()
export class BlockAnnouncer {
  private readonly logger = new Logger(BlockAnnouncer.name);

  constructor(
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly repository: LedgerRepository,
    private readonly kafka: KafkaGateway,
    private readonly witnesses: WitnessCollector,
  ) {}

  /** Publishes one block's announcement (acks from all in-sync replicas), then moves the cursor past it. */
  async announce(block: StoredBlock, announcement: BlockSealedData): Promise<void> {
    // ledger.BlockSealed v2: a CloudEvents envelope (docs/events.md).
    const envelope = blockSealedEnvelope(announcement, this.config.LEDGER_ORIGIN, block.sealedAt.toISOString());
    await this.kafka.publish(LEDGER_BLOCKS_TOPIC, [
      { key: String(announcement.height), value: JSON.stringify(envelope) },
    ]);
    // Never backwards: announcements run in block order, but a catch-up and a fresh seal must not undo each other.
    // An upsert, so that a missing row (deleted by hand) costs one re-announcement of the history, not one per start.
    const height = BigInt(block.height);
    await this.prisma.$executeRaw`INSERT INTO announcement_cursor (id, height) VALUES (true, ${height})
      ON CONFLICT (id) DO UPDATE SET height = EXCLUDED.height WHERE announcement_cursor.height < EXCLUDED.height`;
    // Witnesses cosign in the background (ADR 0012): never in the way of sealing or announcing.
    this.witnesses.offer(block);
  }

  /**
   * Announces, in height order, every committed block above the cursor: those a crash (or a failed publish, which
   * stops the ledger) left unannounced. Called on start before anything is consumed or sealed. Returns how many.
   */
  async announcePending(): Promise<number> {
    const cursor = await this.prisma.announcementCursor.findUnique({ where: { id: true } });
    let next = Number(cursor?.height ?? -1n) + 1;
    let announced = 0;
    for (;;) {
      const blocks = await this.repository.blocks(next, CATCH_UP_PAGE);
      for (const block of blocks) {
        const leaves = await this.prisma.leaf.findMany({
          where: { index: { gte: BigInt(block.firstLeafIndex), lt: BigInt(block.treeSize) } },
          select: { eventId: true, index: true },
          orderBy: { index: 'asc' },
        });
        const events = leaves.map((leaf) => ({ eventId: leaf.eventId, index: Number(leaf.index) }));
        await this.announce(block, announcementOf(block, events));
        announced += 1;
      }
      if (blocks.length < CATCH_UP_PAGE) break;
      next = (blocks.at(-1)?.height ?? next) + 1;
    }
    if (announced > 0) this.logger.warn(`announced ${announced} block(s) committed but not announced before a stop`);
    return announced;
  }
}

import { Controller, Get, Inject, Param, Post, Query } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext, Payload } from '@nestjs/microservices';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { BlockSealedMessage, LEDGER_BLOCKS_TOPIC } from '@medledger/contracts';
import { ProblemException, Roles } from '@medledger/platform';
import { EventStore } from './event-store';
import { ReceiptService } from './receipts/receipt.service';
import { ReliableConsumer } from './reliable-consumer';
import type { TransactionalSql } from './sql';
import { EVENT_STORE, EVENT_STORE_SQL } from './tokens';

/** Inbox name of the receipts consumer. */
export const RECEIPTS_CONSUMER = 'receipts';

/** The event store's internal API: receipts, unsealed events, projection rebuilds; and the BlockSealed consumer. */
@ApiTags('events')
@Controller('v1')
export class EventsController {
  constructor(
    private readonly receipts: ReceiptService,
    private readonly consumer: ReliableConsumer,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(EVENT_STORE_SQL) private readonly client: TransactionalSql,
  ) {}

  @Get('events/unsealed')
  @ApiOperation({ summary: 'Published events without a ledger receipt after the configured time (or olderThanMs)' })
  unsealed(@Query('olderThanMs') olderThanMs?: string) {
    if (olderThanMs === undefined) return this.receipts.unsealed();
    const value = Number(olderThanMs);
    if (!/^\d{1,10}$/.test(olderThanMs) || !Number.isSafeInteger(value))
      throw new ProblemException(400, 'EVENT_STORE.INVALID_PARAMETER', 'Invalid parameter', {
        detail: 'olderThanMs must be a non-negative integer',
      });
    return this.receipts.unsealed(value);
  }

  @Get('events/:eventId/receipt')
  @ApiOperation({
    summary: 'The event, its block, an inclusion proof and a checkpoint, verified against the ledger key',
  })
  receipt(@Param('eventId') eventId: string) {
    // PostgreSQL refuses a NUL in text (22021): it reached the query and answered 500 (npm run chaos, hostile-input).
    if (eventId.includes('\u0000') || eventId.length > 256)
      throw new ProblemException(400, 'EVENT_STORE.INVALID_PARAMETER', 'Invalid parameter', {
        detail: 'eventId must be at most 256 characters, without NUL',
      });
    return this.receipts.receipt(eventId);
  }

  @Post('projections/:name/rebuild')
  // Operations work: where the service authenticates, only an organization's admin may start a rebuild.
  @Roles('org-admin')
  @ApiOperation({ summary: 'Rebuilds a projection (read model) from the events alone (org-admin)' })
  async rebuild(@Param('name') name: string) {
    const started = Date.now();
    const replayed = await this.store.rebuild(this.client, name);
    return { projection: name, replayed, tookMs: Date.now() - started };
  }

  @EventPattern(LEDGER_BLOCKS_TOPIC)
  async onBlockSealed(@Payload() bytes: Buffer, @Ctx() context: KafkaContext): Promise<void> {
    await this.consumer.consume(bytes, context, {
      consumer: RECEIPTS_CONSUMER,
      // v2 (CloudEvents) and the v1 bare messages still on the topic.
      schema: BlockSealedMessage,
      messageId: (block) => `ledger.BlockSealed/${block.height}/${block.blockHash}`,
      handle: async (tx, block) => {
        await this.receipts.recordBlock(tx, block);
      },
    });
  }
}

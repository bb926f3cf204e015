import { Inject, Injectable, Logger } from '@nestjs/common';
import type { KafkaContext } from '@nestjs/microservices';
import type { z } from 'zod';
import { decodeMessage } from '@medledger/contracts';
import { KafkaGateway, type DeadLetterReason } from '@medledger/platform';
import { EventStoreError } from './errors';
import { EventStoreMetrics } from './metrics';
import { EVENT_STORE_SQL } from './tokens';
import type { Sql, TransactionalSql } from './sql';

/** Attempts of a throwing handler before its message is dead-lettered; back-off doubles from the base. */
export const HANDLER_MAX_ATTEMPTS = 5;
export const HANDLER_BACKOFF_BASE_MS = 100;
/** A dead-letter publish that fails is retried at this pace until it succeeds: a message is never dropped. */
const DEAD_LETTER_RETRY_MS = 1_000;
/** While the service's own database does not answer, an attempt is retried at this pace and not counted. */
const DATABASE_AWAY_RETRY_MS = 1_000;

/**
 * Thrown by a handler for a message that must never be applied (a forged or contradicted ledger.BlockSealed): it is
 * dead-lettered at once with this code, not retried, and nothing of the attempt is kept (its transaction, inbox row
 * included, rolls back), so a genuine message with the same id is still applied when it comes.
 */
export class MessageRejected extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'MessageRejected';
  }
}

export type ConsumeOutcome = 'applied' | 'duplicate' | 'dead_lettered';

export interface ConsumeOptions<S extends z.ZodType, Tx extends Sql> {
  /** The consumer's name in the inbox (one per handler). */
  consumer: string;
  schema: S;
  /** The id that makes a redelivery recognisable (the event id). */
  messageId(value: z.infer<S>): string;
  /** The effect, in the same transaction as the inbox record. */
  handle(tx: Tx, value: z.infer<S>): Promise<void>;
}

/**
 * Consumes one Kafka message the way every medledger consumer must: validate at the edge (invalid: dead letter
 * with the reason and the original bytes), apply at most once (inbox row in the effect's transaction), retry a
 * throwing handler with back-off, then dead-letter it. A failure while the service's own database does not answer
 * is not the message's: it is retried until the database is back and never counts towards the dead letter (a
 * database outage once dead-lettered every ledger.BlockSealed it lasted, and those receipts were never kept:
 * npm run chaos, restarts). It never throws, so the transport never drops a message after an error; it only
 * returns once the message is applied, known, or safely in the dead-letter topic.
 */
@Injectable()
export class ReliableConsumer {
  private readonly logger = new Logger(ReliableConsumer.name);

  constructor(
    @Inject(EVENT_STORE_SQL) private readonly client: TransactionalSql,
    private readonly kafka: KafkaGateway,
    private readonly metrics: EventStoreMetrics,
  ) {}

  async consume<S extends z.ZodType, Tx extends Sql = Sql>(
    bytes: Buffer | null,
    context: KafkaContext,
    options: ConsumeOptions<S, Tx>,
  ): Promise<ConsumeOutcome> {
    const decoded = decodeMessage(options.schema, bytes);
    if (!decoded.ok)
      return this.deadLetter(context, options.consumer, { code: decoded.code, message: decoded.message });
    const value = decoded.value;
    const id = options.messageId(value);
    let lastError: unknown;
    for (let attempt = 1; attempt <= HANDLER_MAX_ATTEMPTS; ) {
      try {
        const outcome = await this.client.$transaction(async (tx) => {
          const inserted = await tx.$executeRawUnsafe(
            `INSERT INTO es_inbox (consumer, event_id, processed_at) VALUES ($1, $2, now()) ON CONFLICT DO NOTHING`,
            options.consumer,
            id,
          );
          if (inserted === 0) return 'duplicate' as const;
          await options.handle(tx as Tx, value);
          return 'applied' as const;
        });
        this.metrics.consumed.inc({ consumer: options.consumer, outcome });
        return outcome;
      } catch (error) {
        if (error instanceof MessageRejected)
          return this.deadLetter(context, options.consumer, { code: error.code, message: error.message });
        lastError = error;
        if (!(await this.databaseAnswers())) {
          this.logger.warn(
            `${options.consumer}: ${id} waits for the database (not counted as an attempt): ${String(error)}`,
          );
          await sleep(DATABASE_AWAY_RETRY_MS);
          continue;
        }
        if (attempt < HANDLER_MAX_ATTEMPTS) {
          const delay = HANDLER_BACKOFF_BASE_MS * 2 ** (attempt - 1);
          this.logger.warn(
            `${options.consumer}: attempt ${attempt} for ${id} failed, retrying in ${delay} ms: ${String(error)}`,
          );
          await sleep(delay);
        }
        attempt++;
      }
    }
    return this.deadLetter(context, options.consumer, {
      code: EventStoreError.HANDLER_FAILED,
      message: `${options.consumer} failed ${HANDLER_MAX_ATTEMPTS} times: ${lastError instanceof Error ? lastError.message : String(lastError)}`,
    });
  }

  /** Whether the service's own database answers at all (a failure then is the handler's, or the message's). */
  private async databaseAnswers(): Promise<boolean> {
    try {
      await this.client.$queryRawUnsafe('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  private async deadLetter(context: KafkaContext, consumer: string, reason: DeadLetterReason): Promise<ConsumeOutcome> {
    const source = { topic: context.getTopic(), partition: context.getPartition(), message: context.getMessage() };
    for (;;) {
      try {
        await this.kafka.deadLetter(source, reason);
        this.metrics.consumed.inc({ consumer, outcome: 'dead_lettered' });
        return 'dead_lettered';
      } catch (error) {
        this.logger.error(`dead-letter publish failed, retrying: ${(error as Error).message}`);
        await sleep(DEAD_LETTER_RETRY_MS);
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

import { Logger } from '@nestjs/common';
import type { TopicMessages } from 'kafkajs';
import { encodeSignedEvent, type OriginSigner } from '@medledger/ledger-core';
import type { UnsignedEnvelope } from '@medledger/contracts';
import type { Sql, TransactionalSql } from './sql';

/**
 * Rows signed and sent per round: one producer batch, one signature. A round waits on Kafka's acknowledgement,
 * so bigger rounds drain faster: 500 gave 6,600 events/s against 4,300 with 100 (npm run bench:outbox,
 * docs/perf.md), at the price of 9 instead of 7 proof hashes (≈ 90 bytes) per event.
 */
export const OUTBOX_BATCH_SIZE = 500;
/**
 * After a wake-up or a partial round, the relay waits this long before the next round, so that commits arriving
 * together share one round (one signature, one produce request) instead of one round each: adds up to this much
 * to commit→Kafka latency, saves most rounds at moderate rates (npm run bench:records, docs/perf.md).
 */
export const OUTBOX_LINGER_MS = 10;
/** How often an idle relay looks for rows it was not woken for (another process's appends, missed wake-ups). */
export const OUTBOX_POLL_MS = 200;
/** Back-off after a failed round doubles from this to {@link OUTBOX_MAX_BACKOFF_MS} while Kafka is away. */
export const OUTBOX_MIN_BACKOFF_MS = 100;
export const OUTBOX_MAX_BACKOFF_MS = 5_000;
/** A round holds its transaction while Kafka acknowledges: long enough for the producer's own retries. */
const ROUND_TIMEOUT_MS = 120_000;
/** Advisory lock key: one relay per database publishes at a time, so each aggregate's order holds. */
const RELAY_LOCK_KEY = 0x6d6c6f62; // 'mlob'

export interface OutboxProducer {
  sendBatch(topicMessages: TopicMessages[]): Promise<void>;
}

export interface OutboxRelayMetrics {
  published(count: number): void;
  failed(): void;
}

interface OutboxRow {
  position: bigint;
  event_id: string;
  topic: string;
  key: string;
  envelope: UnsignedEnvelope;
}

export interface OutboxLag {
  /** Public events committed but not yet acknowledged by Kafka. */
  pending: number;
  /** Age of the oldest of them in seconds (0 when none). */
  oldestSeconds: number;
}

/**
 * Publishes the outbox to Kafka, in commit order, in signed batches (proof of origin, docs/design/ledger-format.md
 * §1). A row is marked published in the same transaction that locked it, after Kafka acknowledged it (acks from
 * all in-sync replicas, idempotent producer): if Kafka is down the round rolls back and is retried with back-off,
 * so nothing is lost; a crash between acknowledgement and commit republishes the batch, which consumers absorb
 * by event id (inbox, ledger de-duplication).
 */
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;

  constructor(
    private readonly client: TransactionalSql,
    private readonly producer: OutboxProducer,
    private readonly signer: OriginSigner,
    private readonly metrics: OutboxRelayMetrics = { published: () => undefined, failed: () => undefined },
    private readonly batchSize = OUTBOX_BATCH_SIZE,
    /** Send everything to this topic instead of each row's (PUBLIC_EVENTS_TOPIC). */
    private readonly topicOverride?: string,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the current round: whatever it sent is committed, the rest stays for the next start. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
  }

  /** New rows were committed: publish now rather than at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** One round: publishes up to one batch. Returns how many rows it published (0: none, or another relay holds the lock). */
  async publishOnce(): Promise<number> {
    return this.client.$transaction(
      async (tx) => {
        const [lock] = await tx.$queryRawUnsafe<Array<{ locked: boolean }>>(
          'SELECT pg_try_advisory_xact_lock($1::bigint) AS locked',
          RELAY_LOCK_KEY,
        );
        if (!lock?.locked) return 0;
        const rows = await tx.$queryRawUnsafe<OutboxRow[]>(
          `SELECT position, event_id, topic, key, envelope FROM es_outbox
           WHERE published_at IS NULL ORDER BY position LIMIT ${this.batchSize} FOR UPDATE`,
        );
        if (rows.length === 0) return 0;
        const signed = this.signer.signBatch(rows.map((row) => row.envelope));
        const byTopic = new Map<string, TopicMessages>();
        rows.forEach((row, i) => {
          const topic = this.topicOverride ?? row.topic;
          const entry = byTopic.get(topic) ?? { topic, messages: [] };
          entry.messages.push({ key: row.key, value: encodeSignedEvent(signed[i] as object) });
          byTopic.set(topic, entry);
        });
        await this.producer.sendBatch([...byTopic.values()]);
        // One statement text whatever the round's size (it runs prepared).
        await tx.$executeRawUnsafe(
          'UPDATE es_outbox SET published_at = now() WHERE position = ANY($1::bigint[])',
          rows.map((row) => String(row.position)),
        );
        return rows.length;
      },
      { timeout: ROUND_TIMEOUT_MS },
    );
  }

  private async run(): Promise<void> {
    let backoff = 0;
    while (this.running) {
      try {
        this.woken = false;
        const published = await this.publishOnce();
        if (backoff > 0) this.logger.log('outbox relay recovered');
        backoff = 0;
        if (published > 0) {
          this.metrics.published(published);
          // A full round means a backlog: go on at once. Otherwise let a few more commits gather first.
          if (published < this.batchSize) await this.sleep(OUTBOX_LINGER_MS, false);
          continue;
        }
        await this.sleep(OUTBOX_POLL_MS);
        if (this.woken) await this.sleep(OUTBOX_LINGER_MS, false);
      } catch (error) {
        this.metrics.failed();
        backoff = Math.min(backoff === 0 ? OUTBOX_MIN_BACKOFF_MS : backoff * 2, OUTBOX_MAX_BACKOFF_MS);
        this.logger.warn(`outbox round failed, retrying in ${backoff} ms: ${(error as Error).message}`);
        await this.sleep(backoff, false);
      }
    }
  }

  /** Waits `ms`; a wake-up ends a poll early, while a back-off only ends early when the relay stops. */
  private sleep(ms: number, wakeable = true): Promise<void> {
    if (wakeable && this.woken) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const finish = (): void => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      timer = setTimeout(finish, ms);
      this.wakeUp = () => {
        if (wakeable || !this.running) finish();
      };
    });
  }
}

/** How far the relay is behind: the outbox-lag metric. */
export async function outboxLag(client: Sql): Promise<OutboxLag> {
  const [row] = await client.$queryRawUnsafe<Array<{ pending: bigint; oldest: number | null }>>(
    `SELECT count(*) AS pending, extract(epoch FROM now() - min(created_at))::float8 AS oldest
     FROM es_outbox WHERE published_at IS NULL`,
  );
  return { pending: Number(row?.pending ?? 0), oldestSeconds: Number(row?.oldest ?? 0) };
}

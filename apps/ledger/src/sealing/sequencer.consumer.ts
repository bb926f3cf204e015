import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { Consumer, Kafka, logLevel, type EachBatchPayload, type KafkaMessage } from 'kafkajs';
import { LEDGER_BLOCKS_TOPIC, type BlockSealedData } from '@medledger/contracts';
import {
  CONSUMER_GROUP_TIMEOUTS,
  ConsumerLifecycle,
  KafkaGateway,
  SERVICE_CONFIG,
  kafkaLogCreator,
  type ServiceConfig,
} from '@medledger/platform';
import { LEDGER_CONFIG, type LedgerConfig } from '../ledger.config';
import { BlockAnnouncer } from './block-announcer';
import { EventAdmission, type Admission } from './event-admission';
import type { StoredBlock } from './ledger.repository';
import { LedgerMetrics } from './ledger.metrics';
import { Sequencer, type AcceptedEvent, type RefusedEvent, type SealListener } from './sequencer';

/** Partition batches in flight at once (kafkajs `partitionsConsumedConcurrently`). */
const PARTITIONS_CONCURRENTLY = 4;

/**
 * Messages fetched and handed to admission but not yet queued for their blocks, beyond which the consumer stops
 * fetching: about three fetches of four partitions, so admission always has the next batch while a block seals.
 */
const MAX_BACKLOG_MESSAGES = 8_000;

/** How often the age limit is checked; a fraction of the default 100 ms block age. */
const AGE_TICK_MS = 10;

/**
 * Consumes the public event topics (consumer group `ledger`, from the beginning) with manual offset
 * commits: an offset is committed only once every message before it on its partition is either sealed in a
 * durable block or dead-lettered.
 */
@Injectable()
export class SequencerConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown, SealListener {
  private readonly logger = new Logger(SequencerConsumer.name);
  private readonly consumer: Consumer;
  private timer: NodeJS.Timeout | undefined;
  /** Per topic-partition: messages not yet sealed, and the highest offset seen. */
  private readonly partitions = new Map<string, { unsealed: number; lastSeen: bigint; committed: bigint }>();
  /** Batches after admission, in the order they were fetched: dead letters, then the sequencer. */
  private processing: Promise<void> = Promise.resolve();
  private backlog = 0;
  private readonly backlogDrained: Array<() => void> = [];
  private stopping = false;

  constructor(
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
    @Inject(LEDGER_CONFIG) private readonly ledger: LedgerConfig,
    private readonly sequencer: Sequencer,
    private readonly admission: EventAdmission,
    private readonly kafka: KafkaGateway,
    private readonly metrics: LedgerMetrics,
    private readonly announcer: BlockAnnouncer,
    lifecycle: ConsumerLifecycle,
  ) {
    const client = new Kafka({
      clientId: `${config.KAFKA_CLIENT_ID}-sequencer`,
      brokers: config.KAFKA_BROKERS,
      logLevel: logLevel.INFO,
      logCreator: kafkaLogCreator,
    });
    this.consumer = client.consumer({
      groupId: ledger.LEDGER_GROUP_ID,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
      ...CONSUMER_GROUP_TIMEOUTS,
      // kafkajs's default for consumers (5 retries), plus: no restart once the application is closing.
      retry: { retries: 5, restartOnFailure: lifecycle.restartOnFailure },
    });
    sequencer.setListener(this);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.kafka.ensureTopics([...this.ledger.LEDGER_TOPICS, LEDGER_BLOCKS_TOPIC]);
    // Before anything is sealed: the blocks a crash left committed but unannounced, in order (ADR 0010).
    await this.announcer.announcePending();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.ledger.LEDGER_TOPICS, fromBeginning: true });
    await this.consumer.run({
      // Batches of different partitions are handed over concurrently; each partition's stay in order (onBatch).
      partitionsConsumedConcurrently: PARTITIONS_CONCURRENTLY,
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.timer = setInterval(() => void this.sequencer.sealIfDue(), AGE_TICK_MS);
  }

  /**
   * kafkajs fetches the next batches only once this returns, so it returns as soon as the batch is handed to
   * admission (its offsets resolved: fetch positions, not commits, which move only once a block is durable). The
   * rest runs in {@link processing}, batch after batch; this waits only while MAX_BACKLOG_MESSAGES are not yet
   * queued for their blocks.
   */
  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const last = batch.messages.at(-1);
    if (!last || !payload.isRunning() || payload.isStale() || this.stopping) return;
    const verdicts = this.admission.admitAll(batch.topic, batch.messages);
    // Awaited in order by the chain below; until then a rejection must not count as unhandled.
    verdicts.catch(() => undefined);
    this.backlog += batch.messages.length;
    this.processing = this.processing
      .then(() => this.queueBatch(batch.topic, batch.partition, batch.messages, verdicts))
      .catch((error: unknown) => {
        // Crash-only, as for sealing: kafkajs has moved past this batch, but nothing of it was committed, so a
        // restart reads it again from the last committed offset.
        this.stopping = true;
        this.logger.fatal({ err: error }, 'queueing a batch failed; exiting so that a restart reads it again');
        this.sequencer.fail(error);
      });
    payload.resolveOffset(last.offset);
    await payload.heartbeat();
    while (this.backlog > MAX_BACKLOG_MESSAGES && !this.stopping) {
      await new Promise<void>((resolve) => this.backlogDrained.push(resolve));
    }
  }

  /** One admitted batch: its dead letters, then its accepted events into the sequencer. */
  private async queueBatch(
    topic: string,
    partition: number,
    messages: readonly KafkaMessage[],
    admitted: Promise<Admission[]>,
  ): Promise<void> {
    const verdicts = await admitted;
    // After a fatal error nothing more is dead-lettered, queued or committed: a restart reads it all again.
    if (this.stopping || this.sequencer.failed) return this.release(messages.length);
    const key = `${topic}:${partition}`;
    const accepted: AcceptedEvent[] = [];
    const rejected: Array<{ message: KafkaMessage; code: string; reason: string }> = [];
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i] as KafkaMessage;
      const verdict = verdicts[i] as Admission;
      if (verdict.ok) {
        // Spelled out, not spread: a spread into a literal cost ~2 µs per event here (cpu profile).
        const { eventId, receivedAt, canonicalEvent } = verdict.event;
        accepted.push({ eventId, receivedAt, canonicalEvent, topic, partition, offset: message.offset, message });
      } else rejected.push({ message, code: verdict.code, reason: verdict.reason });
    }
    // An id twice in the batch, or already waiting for its block: queued once if it is the same event delivered
    // again, refused if it is another event under that id (the first one stands).
    const { fresh, refused } = this.sequencer.screen(accepted);
    for (const { event, code, reason } of refused) rejected.push({ message: event.message, code, reason });
    // Before anything of this batch can be committed: one produce request for all its dead letters (a flood of
    // bad events must not cost a round trip each).
    await this.deadLetterAll(topic, partition, rejected);
    // Only now does the batch count: a seal finishing during the produce above (the age timer) must not commit
    // offsets past dead letters not yet written, nor count events a redelivery counts again.
    const state = this.partitionState(key);
    state.unsealed += this.sequencer.enqueue(fresh);
    const lastOffset = BigInt((messages.at(-1) as KafkaMessage).offset);
    if (lastOffset > state.lastSeen) state.lastSeen = lastOffset;
    this.release(messages.length);
    await this.sequencer.sealFullBlocks();
    await this.commitSafeOffsets();
  }

  private release(messages: number): void {
    this.backlog -= messages;
    if (this.backlog <= MAX_BACKLOG_MESSAGES) for (const resolve of this.backlogDrained.splice(0)) resolve();
  }

  private async deadLetterAll(
    topic: string,
    partition: number,
    rejected: ReadonlyArray<{ message: KafkaMessage; code: string; reason: string }>,
  ): Promise<void> {
    if (rejected.length === 0) return;
    await this.kafka.deadLetterMany(
      rejected.map(({ message, code, reason }) => ({ topic, partition, message, reason: { code, message: reason } })),
    );
    for (const { code } of rejected) this.metrics.deadLettered.inc({ reason: code });
  }

  private partitionState(key: string) {
    let state = this.partitions.get(key);
    if (!state) {
      state = { unsealed: 0, lastSeen: -1n, committed: -1n };
      this.partitions.set(key, state);
    }
    return state;
  }

  /**
   * SealListener: the block is durable; announce it, dead-letter the events refused for taking the id of an event
   * already in the log, then let Kafka forget the messages.
   */
  async onSealed(
    events: readonly AcceptedEvent[],
    block: StoredBlock | null,
    announcement: BlockSealedData | null,
    refused: readonly RefusedEvent[],
  ): Promise<void> {
    if (announcement && block) await this.announcer.announce(block, announcement);
    if (refused.length > 0) {
      await this.kafka.deadLetterMany(
        refused.map(({ event, code, reason }) => ({
          topic: event.topic,
          partition: event.partition,
          message: event.message,
          reason: { code, message: reason },
        })),
      );
      for (const { code } of refused) this.metrics.deadLettered.inc({ reason: code });
    }
    // A block holds runs of events of one partition: the key and state are looked up once per run.
    const sealedUpTo = new Map<string, bigint>();
    let run: { key: string; state: { unsealed: number }; topic: string; partition: number } | undefined;
    for (const event of events) {
      if (event.topic !== run?.topic || event.partition !== run.partition) {
        const key = `${event.topic}:${event.partition}`;
        run = { key, state: this.partitionState(key), topic: event.topic, partition: event.partition };
      }
      run.state.unsealed -= 1;
      const offset = BigInt(event.offset);
      if ((sealedUpTo.get(run.key) ?? -1n) < offset) sealedUpTo.set(run.key, offset);
    }
    await this.commitSafeOffsets(sealedUpTo);
  }

  /**
   * Commits, per partition, the offset after the last message that is sealed or dead-lettered with nothing
   * unsealed before it. With nothing unsealed, everything seen so far is safe.
   */
  private async commitSafeOffsets(sealedUpTo = new Map<string, bigint>()): Promise<void> {
    // After a failed seal no offset moves, whatever was sealed or dead-lettered (issue 15 item 11).
    if (this.sequencer.failed) return;
    const commits: Array<{ topic: string; partition: number; offset: string }> = [];
    for (const [key, state] of this.partitions) {
      const safe = state.unsealed === 0 ? state.lastSeen : (sealedUpTo.get(key) ?? state.committed);
      if (safe > state.committed) {
        const separator = key.lastIndexOf(':');
        commits.push({
          topic: key.slice(0, separator),
          partition: Number(key.slice(separator + 1)),
          offset: String(safe + 1n),
        });
        state.committed = safe;
      }
    }
    if (commits.length > 0) await this.consumer.commitOffsets(commits);
  }

  /**
   * Before the shutdown hooks (which close the database pools): stop fetching, then let a seal already
   * running finish. What is pending but unsealed is simply not committed and is re-read next time.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // Batches fetched but not yet queued are dropped (not committed, so read again next time).
    this.stopping = true;
    for (const resolve of this.backlogDrained.splice(0)) resolve();
    await this.consumer.disconnect();
    await this.processing;
    await this.sequencer.idle();
    this.logger.log(`sequencer stopped with ${this.sequencer.pendingCount} unsealed events left to Kafka`);
  }
}

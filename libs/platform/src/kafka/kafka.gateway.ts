import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Admin, IHeaders, Kafka, KafkaMessage, logLevel, Message, Producer, TopicMessages } from 'kafkajs';
import { SERVICE_CONFIG } from '../tokens';
import { kafkaLogCreator } from './kafka-logging';
import type { ServiceConfig } from '../config/config';

/** Topics this process publishes to or consumes; created at start so the first publish never races. */
export const KAFKA_TOPICS = Symbol('KAFKA_TOPICS');

export const DEAD_LETTER_SUFFIX = '.dlq';

/**
 * A key or header value as bytes again. Nest's Kafka transport JSON-parses keys and headers that look like JSON
 * (`[]`, `{"a":1}`), and a header can hold an object: produced as they came, they
 * (a key) made kafkajs throw, so the dead letter was never written and the consumer retried the message forever, or the
 * ledger exited on it at every restart (npm run chaos, hostile-input). Strings and buffers stay as they are.
 */
export function asBytes(value: unknown): Buffer | string | undefined {
  if (value === null || value === undefined) return undefined;
  if (Buffer.isBuffer(value) || typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** The original message's headers, each value as bytes; `__proto__` (which an object literal cannot carry) dropped. */
export function originalHeaders(headers: IHeaders | undefined): IHeaders {
  const out: IHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name === '__proto__') continue;
    // A repeated header (an array of buffers) kafkajs produces as it came.
    const bytes =
      Array.isArray(value) && value.every((v) => Buffer.isBuffer(v) || typeof v === 'string') ? value : asBytes(value);
    if (bytes !== undefined) out[name] = bytes;
  }
  return out;
}

/**
 * Bytes of dead letters per produce request: half of Kafka's default `message.max.bytes` (1 MiB per record batch),
 * so one request's batch for a dead-letter partition always fits (headers counted at 512 bytes a message).
 */
export const DEAD_LETTER_REQUEST_BYTES = 512 * 1024;

export interface DeadLetterReason {
  /** Stable code, e.g. `CONTRACTS.INVALID_MESSAGE`. */
  code: string;
  message: string;
}

/**
 * The process's own Kafka producer and admin client (the Nest Kafka transport owns the consumer).
 * The producer is idempotent: a retried send is never written twice to a partition.
 */
@Injectable()
export class KafkaGateway implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(KafkaGateway.name);
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly admin: Admin;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    @Inject(KAFKA_TOPICS) private readonly topics: readonly string[],
  ) {
    this.kafka = new Kafka({
      clientId: `${config.KAFKA_CLIENT_ID}-gateway`,
      brokers: config.KAFKA_BROKERS,
      logLevel: logLevel.INFO,
      logCreator: kafkaLogCreator,
      retry: { retries: 5 },
    });
    // kafkajs requires a single in-flight request for idempotence. Retries are bounded (client `retry`) so an
    // HTTP request never hangs on a dead broker; kafkajs warns that this weakens exactly-once, which the
    // outbox relay (issue 4) restores by re-sending unsent rows itself.
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    this.admin = this.kafka.admin();
  }

  async onModuleInit(): Promise<void> {
    await this.admin.connect();
    await this.ensureTopics(this.topics);
    await this.producer.connect();
  }

  async ensureTopics(topics: readonly string[]): Promise<void> {
    const wanted = [...new Set(topics.flatMap((topic) => [topic, topic + DEAD_LETTER_SUFFIX]))];
    const existing = new Set(await this.admin.listTopics());
    const missing = wanted.filter((topic) => !existing.has(topic));
    if (missing.length === 0) return;
    await this.admin.createTopics({ topics: missing.map((topic) => ({ topic })), waitForLeaders: true });
    this.logger.log(`created topics ${missing.join(', ')}`);
  }

  async publish(topic: string, messages: Message[]): Promise<void> {
    await this.producer.send({ topic, acks: -1, messages });
  }

  /** One produce request for several topics (the outbox relay's signed batches); acks from all in-sync replicas. */
  async sendBatch(topicMessages: TopicMessages[]): Promise<void> {
    await this.producer.sendBatch({ acks: -1, topicMessages });
  }

  /**
   * Sends a message that could not be processed to `<topic>.dlq`: the original key, value bytes and headers,
   * plus where it came from and why. Nothing is dropped silently.
   */
  async deadLetter(
    source: { topic: string; partition: number; message: KafkaMessage },
    reason: DeadLetterReason,
  ): Promise<void> {
    await this.deadLetterMany([{ ...source, reason }]);
  }

  /**
   * Dead-letters several messages in one produce request (a consumer that meets a flood of bad messages must
   * not spend a round trip on each). Each goes to its own `<topic>.dlq` with its original bytes and headers.
   */
  async deadLetterMany(
    entries: ReadonlyArray<{ topic: string; partition: number; message: KafkaMessage; reason: DeadLetterReason }>,
  ): Promise<void> {
    if (entries.length === 0) return;
    const failedAt = new Date().toISOString();
    let byTopic = new Map<string, TopicMessages>();
    let bytes = 0;
    const topics = new Set<string>();
    for (const { topic, partition, message, reason } of entries) {
      const headers: IHeaders = {
        ...originalHeaders(message.headers),
        'dlq-reason-code': reason.code,
        'dlq-reason': reason.message,
        'dlq-original-topic': topic,
        'dlq-original-partition': String(partition),
        'dlq-original-offset': message.offset,
        'dlq-failed-at': failedAt,
        'dlq-service': this.config.service,
      };
      const target = topic + DEAD_LETTER_SUFFIX;
      topics.add(target);
      const size = (message.value?.length ?? 0) + (message.key?.length ?? 0) + 512;
      if (bytes + size > DEAD_LETTER_REQUEST_BYTES && bytes > 0) {
        await this.sendBatch([...byTopic.values()]);
        byTopic = new Map();
        bytes = 0;
      }
      const group = byTopic.get(target) ?? { topic: target, messages: [] };
      group.messages.push({ key: asBytes(message.key) ?? null, value: message.value, headers });
      byTopic.set(target, group);
      bytes += size;
    }
    await this.sendBatch([...byTopic.values()]);
    if (entries.length === 1) {
      const [only] = entries as [(typeof entries)[number]];
      this.logger.warn(
        { topic: only.topic, offset: only.message.offset, reason: only.reason },
        'message dead-lettered',
      );
    } else {
      const codes = [...new Set(entries.map((e) => e.reason.code))].join(', ');
      this.logger.warn(
        { count: entries.length, topics: [...topics], codes, first: entries[0]?.reason },
        'messages dead-lettered',
      );
    }
  }

  /** Health probe: one metadata round trip to the cluster. */
  async ping(): Promise<void> {
    await this.admin.describeCluster();
  }

  async onApplicationShutdown(): Promise<void> {
    // Runs after Nest has closed the consumer, so every handler's publish has been issued; disconnect waits
    // for in-flight produce requests (flush) before closing sockets.
    await this.producer.disconnect();
    await this.admin.disconnect();
    this.logger.log('Kafka consumer drained and producer flushed');
  }
}

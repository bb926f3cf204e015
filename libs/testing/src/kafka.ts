import { Kafka, logLevel, type KafkaMessage, type Producer } from 'kafkajs';
import { testKafkaBrokers, uniqueSuffix } from './suite';

export interface RecordedMessage {
  topic: string;
  message: KafkaMessage;
}

export interface TopicRecorder {
  /** Every message seen so far, in arrival order. */
  readonly messages: RecordedMessage[];
  stop(): Promise<void>;
}

/** A kafkajs client on the test broker, silent. */
export function testKafka(clientPrefix = 'test', brokers: string[] = testKafkaBrokers()): Kafka {
  return new Kafka({
    clientId: `${clientPrefix}-${uniqueSuffix()}`,
    brokers,
    logLevel: logLevel.NOTHING,
  });
}

/**
 * Records every message on `topics` from the beginning, in a consumer group no one else uses. Topics may hold
 * other suites' messages and deliberate garbage: filter by your own ids, and parse with `jsonOf`.
 */
export async function recordTopics(topics: string[], brokers?: string[]): Promise<TopicRecorder> {
  const consumer = testKafka('recorder', brokers).consumer({
    groupId: `recorder-${uniqueSuffix()}`,
    maxWaitTimeInMs: 100,
  });
  const messages: RecordedMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ topic, message }) => void messages.push({ topic, message }) });
  return { messages, stop: () => consumer.disconnect() };
}

/** A connected producer on the test broker; disconnect it in afterAll. */
export async function testProducer(): Promise<Producer> {
  const producer = testKafka('producer').producer();
  await producer.connect();
  return producer;
}

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
  const kafka = testKafka('recorder', brokers);
  // A topic nobody has written yet (a fresh broker) is created first: subscribing to it would fail.
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0)
      await admin.createTopics({ topics: missing.map((topic) => ({ topic })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  const consumer = kafka.consumer({
    groupId: `recorder-${uniqueSuffix()}`,
    maxWaitTimeInMs: 100,
  });
  const messages: RecordedMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ topic, message }) => void messages.push({ topic, message }) });
  } catch (error) {
    await consumer.disconnect(); // a connected consumer left behind would keep the test process alive
    throw error;
  }
  return { messages, stop: () => consumer.disconnect() };
}

/** A connected producer on the test broker; disconnect it in afterAll. */
export async function testProducer(): Promise<Producer> {
  const producer = testKafka('producer').producer();
  await producer.connect();
  return producer;
}

import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { DIAGNOSTICS_TOPIC, DiagnosticsMessage, diagnosticsEnvelope, type PingSent } from '@medledger/contracts';
import { DEAD_LETTER_SUFFIX } from '@medledger/platform';
import {
  eventually,
  jsonOf,
  recordTopics,
  startService,
  testProducer,
  type RunningService,
  type TopicRecorder,
} from '@medledger/testing';
import { LedgerModule } from '../src/app.module';

/**
 * A real broker, the ledger's real module: a message produced with kafkajs reaches the ledger's
 * @EventPattern handler, and its reply comes back over Kafka.
 */
describe('ledger over Kafka', () => {
  let ledger: RunningService;
  let producer: Producer;
  let recorder: TopicRecorder;

  beforeAll(async () => {
    ledger = await startService('ledger', (config) => LedgerModule.forRoot(config));
    producer = await testProducer();
    recorder = await recordTopics([DIAGNOSTICS_TOPIC, DIAGNOSTICS_TOPIC + DEAD_LETTER_SUFFIX]);
  });

  afterAll(async () => {
    await Promise.all([recorder?.stop(), producer?.disconnect()]);
    await ledger?.close();
  });

  it('answers a ping produced by another party', async () => {
    const ping: PingSent = {
      type: 'diagnostics.PingSent',
      pingId: randomUUID(),
      origin: 'records',
      sentAt: new Date().toISOString(),
    };
    const envelope = diagnosticsEnvelope(ping, 'records', randomUUID());
    await producer.send({
      topic: DIAGNOSTICS_TOPIC,
      messages: [{ key: ping.pingId, value: JSON.stringify(envelope) }],
    });

    // Every service answers pings on the shared diagnostics topic, and suites of other services run meanwhile
    // (trials answered first once in CI): the ledger's answer is the one to check.
    const answer = await eventually(async () =>
      recorder.messages
        .filter((m) => m.topic === DIAGNOSTICS_TOPIC)
        .map((m) => DiagnosticsMessage.safeParse(jsonOf(m.message.value)))
        .map((parsed) => (parsed.success && parsed.data.type === 'diagnostics.PingAnswered' ? parsed.data : undefined))
        .find((answer) => answer?.pingId === ping.pingId && answer.answeredBy === 'ledger'),
    );
    expect(answer).toMatchObject({ origin: 'records', answeredBy: 'ledger' });
    expect(Date.parse(answer.answeredAt)).toBeGreaterThanOrEqual(Date.parse(ping.sentAt));
  });

  it('dead-letters a message that is not a valid event, with its bytes and the reason', async () => {
    const garbage = `not json ${randomUUID()}`;
    await producer.send({ topic: DIAGNOSTICS_TOPIC, messages: [{ value: garbage }] });

    // Every service consumes the diagnostics topic, so services of suites running meanwhile (records) may
    // dead-letter the same bytes: the ledger's copy is the one to check.
    const dead = await eventually(async () =>
      recorder.messages.find(
        (m) =>
          m.topic === DIAGNOSTICS_TOPIC + DEAD_LETTER_SUFFIX &&
          m.message.value?.toString() === garbage &&
          m.message.headers?.['dlq-service']?.toString() === 'ledger',
      ),
    );
    expect(dead.message.headers?.['dlq-reason-code']?.toString()).toBe('CONTRACTS.NOT_JSON');
    expect(dead.message.headers?.['dlq-original-topic']?.toString()).toBe(DIAGNOSTICS_TOPIC);
  });
});

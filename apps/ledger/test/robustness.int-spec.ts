import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import {
  canonicalize,
  encodeSignedEvent,
  generateEd25519KeyPair,
  LEAF_EVENT_MAX_DEPTH,
  OriginSigner,
  verifierKey,
} from '@medledger/ledger-core';
import { DEAD_LETTER_SUFFIX } from '@medledger/platform';
import {
  eventually,
  jsonOf,
  recordTopics,
  runVerifyCli,
  startService,
  testProducer,
  uniqueSuffix,
  type RunningService,
  type TopicRecorder,
} from '@medledger/testing';
import { LedgerModule } from '../src/app.module';

/**
 * What the ledger refuses beyond a bad envelope or proof (issue 15 items 8 and 9), on the real stack: another
 * event under an id the log already has, or is about to have, is dead-lettered with a reason code and never takes
 * the first one's place, while a redelivery of the same event stays a silent no-op; and an event nested too deep
 * for its leaf to be canonicalised is dead-lettered instead of sealed into a log no verifier would pass.
 */
describe('ledger refusals: duplicate ids and nesting', () => {
  const suffix = uniqueSuffix();
  const recordsTopic = `test.${suffix}.records.events`;
  const supplyTopic = `test.${suffix}.supply.events`;
  const recordsKeys = generateEd25519KeyPair();
  const supplyKeys = generateEd25519KeyPair();
  const records = new OriginSigner('records', recordsKeys.seed);
  const supply = new OriginSigner('supply', supplyKeys.seed);
  const producerKeys = [
    verifierKey('records', recordsKeys.publicKey),
    verifierKey('supply', supplyKeys.publicKey),
  ].join(',');
  let ledger: RunningService;
  let producer: Producer;
  let recorder: TopicRecorder;

  beforeAll(async () => {
    ledger = await startService('ledger', (config) =>
      LedgerModule.forRoot(config, {
        LEDGER_TOPICS: `${recordsTopic},${supplyTopic}`,
        LEDGER_GROUP_ID: `ledger-robust-${suffix}`,
        LEDGER_PRODUCER_KEYS: producerKeys,
        LEDGER_BLOCK_MAX_EVENTS: '50',
        LEDGER_BLOCK_MAX_AGE_MS: '50',
        KEYS_DIR: `.data/test-keys/${suffix}`,
      }),
    );
    producer = await testProducer();
    recorder = await recordTopics([recordsTopic + DEAD_LETTER_SUFFIX, supplyTopic + DEAD_LETTER_SUFFIX]);
  });

  afterAll(async () => {
    await Promise.all([producer?.disconnect(), recorder?.stop()]);
    await ledger?.close();
  });

  const envelope = (id: string, service: 'records' | 'supply', data: Record<string, unknown>) => ({
    specversion: '1.0',
    id,
    source: `/medledger/${service}`,
    type: service === 'records' ? 'records.PatientRegistered' : 'supply.PackCommissioned',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data,
  });
  const send = (topic: string, events: object[]) =>
    producer.send({ topic, messages: events.map((e) => ({ value: encodeSignedEvent(e) })) });
  const leafEvent = async (id: string) => {
    const response = await fetch(`${ledger.baseUrl}/v1/events/${id}`);
    if (!response.ok) return undefined;
    const { leafData } = (await response.json()) as { leafData: string };
    return (JSON.parse(Buffer.from(leafData, 'base64').toString('utf8')) as { event: { data: unknown } }).event;
  };
  const deadLetters = (id: string) =>
    recorder.messages
      .filter((m) => (jsonOf(m.message.value) as { id?: string } | undefined)?.id === id)
      .map((m) => ({
        topic: m.topic,
        code: m.message.headers?.['dlq-reason-code']?.toString(),
        data: (jsonOf(m.message.value) as { data: unknown }).data,
      }));

  it('dead-letters another event under the id of a sealed one and keeps the first; a redelivery is silent', async () => {
    const id = randomUUID();
    const [first] = records.signBatch([envelope(id, 'records', { patientId: 'p-1' })]);
    await send(recordsTopic, [first!]);
    await eventually(() => leafEvent(id));

    // The same content signed in another producer batch (an outbox relay resending a round): the same event.
    const [resigned] = records
      .signBatch([
        envelope(randomUUID(), 'records', { patientId: 'p-0' }),
        { ...first!, producerkey: undefined, batchnote: undefined, batchindex: undefined, batchproof: undefined },
      ])
      .slice(1);
    const [otherContent] = records.signBatch([envelope(id, 'records', { patientId: 'p-2' })]);
    const [otherSource] = supply.signBatch([envelope(id, 'supply', { serial: 'S-1' })]);
    // One at a time, so that each meets the sealed event in the log (not a twin waiting beside it).
    await send(recordsTopic, [otherContent!]);
    await eventually(async () => (deadLetters(id).length >= 1 ? true : undefined));
    await send(supplyTopic, [otherSource!]);
    const dead = await eventually(async () => {
      const found = deadLetters(id);
      return found.length >= 2 ? found : undefined;
    });
    expect(dead).toEqual([
      {
        topic: recordsTopic + DEAD_LETTER_SUFFIX,
        code: 'LEDGER.DUPLICATE_ID_OTHER_CONTENT',
        data: { patientId: 'p-2' },
      },
      { topic: supplyTopic + DEAD_LETTER_SUFFIX, code: 'LEDGER.DUPLICATE_ID_OTHER_SOURCE', data: { serial: 'S-1' } },
    ]);

    // Then the first event again, as it was and re-signed, and a new one to know when they have been through.
    const marker = randomUUID();
    await send(recordsTopic, [first!]);
    await send(recordsTopic, [resigned!]);
    await send(recordsTopic, records.signBatch([envelope(marker, 'records', { patientId: 'p-3' })]));
    await eventually(() => leafEvent(marker));
    // Neither the redelivery nor the re-signed copy is a dead letter, and the first event stands.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(deadLetters(id)).toHaveLength(2);
    expect(await leafEvent(id)).toMatchObject({ id, data: { patientId: 'p-1' }, batchnote: first!.batchnote });
  });

  it('dead-letters another event under the id of one still waiting for its block', async () => {
    const id = randomUUID();
    const [first] = records.signBatch([envelope(id, 'records', { patientId: 'w-1' })]);
    const [second] = records.signBatch([envelope(id, 'records', { patientId: 'w-2' })]);
    // One produce request: the two arrive together, before either is sealed.
    await send(recordsTopic, [first!, second!, first!]);
    await eventually(() => leafEvent(id));
    const dead = await eventually(async () => {
      const found = deadLetters(id);
      return found.length >= 1 ? found : undefined;
    });
    expect(dead).toEqual([
      {
        topic: recordsTopic + DEAD_LETTER_SUFFIX,
        code: 'LEDGER.DUPLICATE_ID_OTHER_CONTENT',
        data: { patientId: 'w-2' },
      },
    ]);
    expect(await leafEvent(id)).toMatchObject({ data: { patientId: 'w-1' } });
  });

  /** A signed records event whose envelope is `levels` arrays and objects deep (its data nests the rest). */
  const nested = (id: string, levels: number) => {
    let inner: unknown = 'bottom';
    for (let i = levels - 2; i >= 0; i--) inner = i % 2 === 0 ? { down: inner } : [inner];
    return records.signBatch([{ ...envelope(id, 'records', {}), data: inner as Record<string, unknown> }])[0]!;
  };

  it('dead-letters an event nested deeper than its leaf can be canonicalised, and seals the deepest that can', async () => {
    const [deepest, tooDeep] = [randomUUID(), randomUUID()];
    await send(recordsTopic, [nested(tooDeep, LEAF_EVENT_MAX_DEPTH + 1), nested(deepest, LEAF_EVENT_MAX_DEPTH)]);
    await eventually(() => leafEvent(deepest));
    const dead = await eventually(async () => {
      const found = deadLetters(tooDeep);
      return found.length >= 1 ? found : undefined;
    });
    expect(dead.map((d) => d.code)).toEqual(['LEDGER.EVENT_TOO_DEEP']);
    const { leafData } = (await (await fetch(`${ledger.baseUrl}/v1/events/${deepest}`)).json()) as {
      leafData: string;
    };
    const text = Buffer.from(leafData, 'base64').toString('utf8');
    expect(canonicalize(JSON.parse(text))).toBe(text);
  });

  it('leaves a log that medledger-verify passes, producers pinned', async () => {
    const run = await runVerifyCli('chain', '--url', ledger.baseUrl, '--producer-keys', producerKeys, '--quiet');
    expect(run.stdout).toMatch(/^OK chain/);
    expect(run.code).toBe(0);
  }, 60_000);
});

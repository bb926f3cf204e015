import { randomUUID } from 'node:crypto';
import type { Admin, Producer } from 'kafkajs';
import { generateEd25519KeyPair, OriginSigner, verifierKey } from '@medledger/ledger-core';
import {
  eventually,
  startService,
  testKafka,
  testProducer,
  uniqueSuffix,
  type RunningService,
} from '@medledger/testing';
import { LedgerModule } from '../src/app.module';
import { LedgerRepository } from '../src/sealing/ledger.repository';
import { Sequencer } from '../src/sealing/sequencer';

/**
 * A block that fails to commit stops the ledger for good (issue 15 item 11): no later block is sealed in its place
 * and no Kafka offset moves past its events, however many more events arrive, so that the restart (here: the
 * process exit, replaced by a recorder) reads them all again.
 */
describe('ledger after a fatal sealing error', () => {
  const suffix = uniqueSuffix();
  const topic = `test.${suffix}.supply.events`;
  const groupId = `ledger-fatal-${suffix}`;
  const keys = generateEd25519KeyPair();
  const supply = new OriginSigner('supply', keys.seed);
  let ledger: RunningService;
  let producer: Producer;
  let admin: Admin;

  beforeAll(async () => {
    ledger = await startService('ledger', (config) =>
      LedgerModule.forRoot(config, {
        LEDGER_TOPICS: topic,
        LEDGER_GROUP_ID: groupId,
        LEDGER_PRODUCER_KEYS: verifierKey('supply', keys.publicKey),
        LEDGER_BLOCK_MAX_EVENTS: '5',
        LEDGER_BLOCK_MAX_AGE_MS: '50',
        KEYS_DIR: `.data/test-keys/${suffix}`,
      }),
    );
    producer = await testProducer();
    admin = testKafka('fatal-admin').admin();
    await admin.connect();
  });

  afterAll(async () => {
    await Promise.all([producer?.disconnect(), admin?.disconnect()]);
    await ledger?.close();
  });

  const publish = async (count: number) => {
    const events = supply.signBatch(
      Array.from({ length: count }, (_, n) => ({
        specversion: '1.0',
        id: randomUUID(),
        source: '/medledger/supply',
        type: 'supply.PackCommissioned',
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        data: { serial: `S${n}` },
      })),
    );
    await producer.send({ topic, messages: events.map((e) => ({ value: JSON.stringify(e) })) });
  };
  const treeSize = async () => {
    const response = await fetch(`${ledger.baseUrl}/v1/checkpoint`);
    return response.ok ? Number((await response.text()).split('\n')[1]) : 0;
  };
  /** Offsets the ledger's group has committed, summed over the topic's partitions: messages it is done with. */
  const committed = async () => {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(Number(p.offset), 0), 0);
  };

  it('seals no later block and commits no offset past the failed block', async () => {
    await publish(5);
    await eventually(async () => ((await treeSize()) === 5 ? true : undefined));
    await eventually(async () => ((await committed()) === 5 ? true : undefined));

    const sequencer = ledger.app.get(Sequencer);
    const fatal = jest.fn();
    sequencer.onFatal = fatal;
    jest
      .spyOn(ledger.app.get(LedgerRepository), 'commitBlock')
      .mockRejectedValueOnce(new Error('connection terminated unexpectedly'));

    await publish(5);
    await eventually(async () => (fatal.mock.calls.length > 0 ? true : undefined));
    // The process would exit now; were it still sealing, these would fill later blocks and move the offsets.
    await publish(12);
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    expect(await treeSize()).toBe(5);
    const { blocks } = (await (await fetch(`${ledger.baseUrl}/v1/blocks?from=0&limit=10`)).json()) as {
      blocks: unknown[];
    };
    expect(blocks).toHaveLength(1);
    expect(await committed()).toBe(5);
    expect(fatal).toHaveBeenCalledTimes(1);
    expect(sequencer.failed).toBe(true);
  });
});

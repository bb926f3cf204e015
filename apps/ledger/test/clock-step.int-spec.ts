import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import {
  generateEd25519KeyPair,
  OriginSigner,
  verifierKey,
  verifyChainLink,
  type SignedBlockHeader,
} from '@medledger/ledger-core';
import { eventually, startService, testProducer, uniqueSuffix, type RunningService } from '@medledger/testing';
import { LedgerModule } from '../src/app.module';
import { Sequencer } from '../src/sealing/sequencer';

/**
 * A clock stepped back (NTP, a restored VM) while the ledger runs: the blocks it seals after the step still obey
 * the rules every verifier checks, `sealedAt` never before the previous block's and never before a leaf's
 * `receivedAt` (the ledger holds the time still instead of signing a chain that fails them).
 */
describe('ledger sealing across a clock step', () => {
  const suffix = uniqueSuffix();
  const topic = `test.${suffix}.supply.events`;
  const producerKeys = generateEd25519KeyPair();
  const supply = new OriginSigner('supply', producerKeys.seed);
  const STEP_MS = 60 * 60 * 1000;
  let ledger: RunningService;
  let producer: Producer;

  type ApiBlock = SignedBlockHeader & { hash: string; checkpoint: string };
  const blocks = async () =>
    ((await (await fetch(`${ledger.baseUrl}/v1/blocks?from=0&limit=1000`)).json()) as { blocks: ApiBlock[] }).blocks;

  async function sealEvents(count: number, treeSize: number): Promise<void> {
    const events = supply.signBatch(
      Array.from({ length: count }, (_, n) => ({
        specversion: '1.0',
        id: randomUUID(),
        source: '/medledger/supply',
        type: 'supply.PackCommissioned',
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        data: { serial: `S${treeSize + n}` },
      })),
    );
    await producer.send({ topic, messages: events.map((e) => ({ value: JSON.stringify(e) })) });
    await eventually(async () => ((await blocks()).at(-1)?.treeSize === treeSize ? true : undefined));
  }

  beforeAll(async () => {
    ledger = await startService('ledger', (config) =>
      LedgerModule.forRoot(config, {
        LEDGER_TOPICS: topic,
        LEDGER_GROUP_ID: `ledger-test-${suffix}`,
        LEDGER_PRODUCER_KEYS: verifierKey('supply', producerKeys.publicKey),
        LEDGER_BLOCK_MAX_EVENTS: '10',
        LEDGER_BLOCK_MAX_AGE_MS: '50',
        KEYS_DIR: `.data/test-keys/${suffix}`,
      }),
    );
    producer = await testProducer();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await ledger?.close();
  });

  it('never seals a block before the previous one, nor before the events it holds were received', async () => {
    await sealEvents(10, 10);
    const sequencer = ledger.app.get(Sequencer);
    // An hour back: before the previous block, and before the time admission (on the real clock) receives them.
    sequencer.clock = () => new Date(Date.now() - STEP_MS);
    await sealEvents(25, 35);

    const chain = await blocks();
    expect(chain.length).toBeGreaterThanOrEqual(4);
    const headers = chain.map(({ hash: _hash, checkpoint: _checkpoint, ...header }) => header);
    for (let h = 1; h < headers.length; h++) {
      expect(verifyChainLink(headers[h - 1] as SignedBlockHeader, headers[h] as SignedBlockHeader)).toEqual({
        ok: true,
      });
    }
    const leaves = (
      (await (await fetch(`${ledger.baseUrl}/v1/leaves?start=0&end=35`)).json()) as {
        leaves: Array<{ index: number; leafData: string }>;
      }
    ).leaves;
    for (const leaf of leaves) {
      const { receivedAt } = JSON.parse(Buffer.from(leaf.leafData, 'base64').toString('utf8')) as {
        receivedAt: string;
      };
      const block = chain.find((b) => b.firstLeafIndex <= leaf.index && leaf.index < b.treeSize);
      expect(Date.parse(receivedAt)).toBeLessThanOrEqual(Date.parse(block?.sealedAt ?? ''));
    }
    // The stepped clock was not simply ignored: it is back in charge once it passes the last block.
    sequencer.clock = () => new Date(Date.now() + STEP_MS);
    await sealEvents(1, 36);
    expect(Date.parse((await blocks()).at(-1)?.sealedAt ?? '')).toBeGreaterThan(Date.now() + STEP_MS / 2);
  });
});

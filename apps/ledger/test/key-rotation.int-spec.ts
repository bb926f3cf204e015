import { randomBytes, randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import {
  generateEd25519KeyPair,
  OriginSigner,
  parseVerifierKey,
  verifierKey,
  verifyCheckpoint,
  verifyHeader,
  type SignedBlockHeader,
} from '@medledger/ledger-core';
import {
  createServiceDatabase,
  eventually,
  startService,
  testProducer,
  uniqueSuffix,
  type RunningService,
  type TestDatabase,
} from '@medledger/testing';
import { LedgerModule } from '../src/app.module';

/**
 * Key rotation: the ledger restarted with a new signing key signs new blocks with it, names it in each header,
 * lists both keys with the heights they signed, and every old block keeps verifying.
 */
describe('ledger key rotation', () => {
  const suffix = uniqueSuffix();
  const topic = `test.${suffix}.trials.events`;
  const producerKeys = generateEd25519KeyPair();
  const trials = new OriginSigner('trials', producerKeys.seed);
  const [firstKey, secondKey] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
  let database: TestDatabase;
  let producer: Producer;
  let ledger: RunningService | undefined;

  const start = (signingKey: string) =>
    startService(
      'ledger',
      (config) =>
        LedgerModule.forRoot(config, {
          LEDGER_TOPICS: topic,
          LEDGER_GROUP_ID: `ledger-${suffix}`,
          LEDGER_PRODUCER_KEYS: verifierKey('trials', producerKeys.publicKey),
          LEDGER_SIGNING_KEY: signingKey,
        }),
      {},
      { database },
    );

  async function sealBatch(size: number, expectedTreeSize: number, running: RunningService): Promise<void> {
    const events = trials.signBatch(
      Array.from({ length: size }, () => ({
        specversion: '1.0',
        id: randomUUID(),
        source: '/medledger/trials',
        type: 'trials.ParticipantEnrolled',
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        data: { trialId: 't-1', participantId: randomUUID() },
      })),
    );
    await producer.send({ topic, messages: events.map((e) => ({ value: JSON.stringify(e) })) });
    await eventually(async () => {
      const text = await (await fetch(`${running.baseUrl}/v1/checkpoint`)).text();
      return text.split('\n')[1] === String(expectedTreeSize) ? true : undefined;
    });
  }

  beforeAll(async () => {
    database = await createServiceDatabase('ledger');
    producer = await testProducer();
  });

  afterAll(async () => {
    await ledger?.close();
    await producer?.disconnect();
    await database?.drop();
  });

  it('signs new blocks with the new key while old blocks keep verifying', async () => {
    ledger = await start(firstKey);
    await sealBatch(10, 10, ledger);
    await ledger.close();

    ledger = await start(secondKey);
    await sealBatch(10, 20, ledger);

    type ApiKey = {
      keyId: string;
      publicKey: string;
      verifierKey: string;
      firstHeight: number | null;
      lastHeight: number | null;
    };
    const { keys } = (await (await fetch(`${ledger.baseUrl}/v1/keys`)).json()) as { keys: ApiKey[] };
    expect(keys).toHaveLength(2);
    const [oldKey, newKey] = keys as [ApiKey, ApiKey];
    expect(oldKey.lastHeight).not.toBeNull();
    expect(newKey.firstHeight).toBe((oldKey.lastHeight ?? -1) + 1);

    const { blocks } = (await (await fetch(`${ledger.baseUrl}/v1/blocks?from=0&limit=100`)).json()) as {
      blocks: Array<SignedBlockHeader & { hash: string; checkpoint: string }>;
    };
    const publicKeys = new Map(keys.map((k) => [k.keyId, Buffer.from(k.publicKey, 'base64')]));
    const verifiers = keys.map((k) => {
      const parsed = parseVerifierKey(k.verifierKey);
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.value;
    });
    for (const { hash: _hash, checkpoint, ...header } of blocks) {
      expect(header.keyId).toBe(header.height <= (oldKey.lastHeight ?? -1) ? oldKey.keyId : newKey.keyId);
      expect(verifyHeader(header, publicKeys)).toEqual({ ok: true });
      expect(verifyCheckpoint(checkpoint, verifiers).ok).toBe(true);
      // Only the key that signed the block verifies it: the rotation is real, not one key under two names.
      const other = header.keyId === oldKey.keyId ? newKey : oldKey;
      expect(verifyHeader({ ...header, keyId: other.keyId }, publicKeys).ok).toBe(false);
    }
  });
});

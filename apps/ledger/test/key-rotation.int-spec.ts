import { randomBytes, randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { Client } from 'pg';
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
 * lists both keys with the heights they signed (kept in each block's commit, so /v1/keys reads no block), and every
 * old block keeps verifying.
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
  /** The suite's own database, read and written directly. */
  let sql: Client;

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
    sql = new Client({ connectionString: database.url });
    await sql.connect();
  });

  afterAll(async () => {
    await sql?.end();
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
    // Each key's figures are those of the blocks it signed, kept up to date by each block's commit.
    const signed = (
      await sql.query<{ key_id: string; first: string; last: string; blocks: string }>(
        'SELECT key_id, min(height) AS first, max(height) AS last, count(*) AS blocks FROM block GROUP BY key_id',
      )
    ).rows;
    for (const key of keys) {
      const usage = signed.find((row) => row.key_id === key.keyId);
      expect(key).toMatchObject({
        firstHeight: Number(usage?.first),
        lastHeight: Number(usage?.last),
        blocks: Number(usage?.blocks),
      });
    }

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

  it('answers /v1/keys from the keys alone, scanning no block, and keeps the figures in each block commit', async () => {
    const keysNow = async () =>
      ((await (await fetch(`${ledger!.baseUrl}/v1/keys`)).json()) as { keys: Array<{ keyId: string; blocks: number }> })
        .keys;
    const before = await keysNow();
    // The endpoint reads what signing_key says: were it counting blocks, this change would not show.
    await sql.query('UPDATE signing_key SET blocks = blocks + 1000');
    expect((await keysNow()).map((k) => k.blocks)).toEqual(before.map((k) => k.blocks + 1000));
    await sql.query('UPDATE signing_key SET blocks = blocks - 1000');
    // The next block moves its key's figures in its own commit.
    const [, current] = before as [unknown, { keyId: string; blocks: number }];
    await sealBatch(5, 25, ledger!);
    const after = await keysNow();
    const height = Number(
      (await sql.query<{ height: string }>('SELECT max(height) AS height FROM block')).rows[0]?.height,
    );
    expect(after.find((k) => k.keyId === current.keyId)).toMatchObject({
      blocks: Number(
        (await sql.query<{ n: string }>('SELECT count(*) AS n FROM block WHERE key_id = $1', [current.keyId])).rows[0]
          ?.n,
      ),
      lastHeight: height,
    });
  });
});

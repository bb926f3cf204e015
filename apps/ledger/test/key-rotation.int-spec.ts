import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { Client } from 'pg';
import {
  blockHash,
  createSigner,
  generateEd25519KeyPair,
  OriginSigner,
  parseVerifierKey,
  signCheckpoint,
  signHeader,
  verifierKey,
  verifyCheckpoint,
  verifyHeader,
  verifyKeyChange,
  type NoteVerifier,
  type SignedBlockHeader,
} from '@medledger/ledger-core';
import {
  createServiceDatabase,
  eventually,
  freePort,
  runVerifyCli,
  startService,
  testKafkaBrokers,
  testProducer,
  uniqueSuffix,
  workspaceRoot,
  type RunningService,
  type TestDatabase,
} from '@medledger/testing';
import { LedgerModule } from '../src/app.module';

const ORIGIN = 'medledger.local/ledger';

type ApiBlock = SignedBlockHeader & { hash: string; checkpoint: string };
type ApiKey = {
  keyId: string;
  publicKey: string;
  verifierKey: string;
  firstHeight: number | null;
  lastHeight: number | null;
  blocks: number;
};

/**
 * Key changes (docs/design/ledger-format.md §5.1): a ledger restarted with another key than the newest block's
 * refuses to start, naming both keys, and leaves the chain as it was; with the previous key configured it records
 * the key change in the next block (also after a restart before that block), signs on with the new key, lists both
 * keys with the heights they signed (kept in each block's commit, so /v1/keys reads no block), and medledger-verify
 * accepts the whole chain. A block another pinned key signed without a record fails verification at its height.
 */
describe('ledger key changes', () => {
  const suffix = uniqueSuffix();
  const topic = `test.${suffix}.trials.events`;
  const producerKeys = generateEd25519KeyPair();
  const trials = new OriginSigner('trials', producerKeys.seed);
  const [firstSeed, secondSeed, thirdSeed] = [randomBytes(32), randomBytes(32), randomBytes(32)];
  const [firstKey, secondKey, thirdKey] = [firstSeed, secondSeed, thirdSeed].map((seed) => seed.toString('base64')) as [
    string,
    string,
    string,
  ];
  const [first, second, third] = [
    createSigner(ORIGIN, firstSeed),
    createSigner(ORIGIN, secondSeed),
    createSigner(ORIGIN, thirdSeed),
  ];
  const vkey = (signer: NoteVerifier) => verifierKey(signer.name, signer.publicKey);
  const dir = mkdtempSync(join(tmpdir(), 'medledger-key-change-'));
  const keyring = join(dir, 'ledger.keys');
  let database: TestDatabase;
  let producer: Producer;
  let ledger: RunningService | undefined;
  /** The suite's own database, read and written directly. */
  let sql: Client;

  const start = (signingKey: string, previousKey?: string) =>
    startService(
      'ledger',
      (config) =>
        LedgerModule.forRoot(config, {
          LEDGER_TOPICS: topic,
          LEDGER_GROUP_ID: `ledger-${suffix}`,
          LEDGER_PRODUCER_KEYS: verifierKey('trials', producerKeys.publicKey),
          LEDGER_SIGNING_KEY: signingKey,
          ...(previousKey ? { LEDGER_PREVIOUS_SIGNING_KEY: previousKey } : {}),
        }),
      {},
      { database },
    );

  /** The built ledger as an operator starts it (dist/apps/ledger/main.js): its exit code and what it printed. */
  async function runLedgerProcess(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
    const root = workspaceRoot();
    const port = await freePort();
    const child = spawn(process.execPath, [join(root, 'dist/apps/ledger/main.js')], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: database.url,
        KAFKA_BROKERS: testKafkaBrokers().join(','),
        KAFKA_GROUP_ID: `ledger-diag-${suffix}`,
        LEDGER_GROUP_ID: `ledger-${suffix}`,
        LEDGER_TOPICS: topic,
        LEDGER_PRODUCER_KEYS: verifierKey('trials', producerKeys.publicKey),
        LEDGER_ORIGIN: ORIGIN,
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    return { code, output };
  }

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

  /** Every block row as it stands, to show that a refused start changed nothing. */
  const chainRows = async () =>
    (
      await sql.query<{ height: string; key_id: string; hash: Buffer }>(
        'SELECT height, key_id, hash FROM block ORDER BY height',
      )
    ).rows.map((row) => `${row.height} ${row.key_id} ${row.hash.toString('base64')}`);
  const keyRows = async () =>
    (await sql.query<{ key_id: string }>('SELECT key_id FROM signing_key ORDER BY key_id')).rows.map((r) => r.key_id);

  beforeAll(async () => {
    database = await createServiceDatabase('ledger');
    producer = await testProducer();
    sql = new Client({ connectionString: database.url });
    await sql.connect();
    writeFileSync(
      keyring,
      `# the ledger's keys, pinned: the genesis key and the key it handed over to\n${vkey(first)}\n${vkey(second)}\n`,
    );
  });

  afterAll(async () => {
    await sql?.end();
    await ledger?.close();
    await producer?.disconnect();
    await database?.drop();
  });

  it('refuses to start with another key than the chain’s and no key change configured, naming both keys', async () => {
    ledger = await start(firstKey);
    await sealBatch(10, 10, ledger);
    await ledger.close();
    ledger = undefined;
    const [blocks, keys] = [await chainRows(), await keyRows()];

    const refused = await runLedgerProcess({ LEDGER_SIGNING_KEY: secondKey });
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('LEDGER.FOREIGN_SIGNING_KEY');
    expect(refused.output).toContain(vkey(first));
    expect(refused.output).toContain(vkey(second));

    // A previous key that is not the chain's key is no key change either: all three keys are named.
    const wrongPrevious = await runLedgerProcess({
      LEDGER_SIGNING_KEY: secondKey,
      LEDGER_PREVIOUS_SIGNING_KEY: thirdKey,
    });
    expect(wrongPrevious.code).toBe(1);
    expect(wrongPrevious.output).toContain('LEDGER.FOREIGN_SIGNING_KEY');
    for (const key of [first, second, third]) expect(wrongPrevious.output).toContain(vkey(key));

    // Nothing was written: no block, and not even the refused key's row.
    expect(await chainRows()).toEqual(blocks);
    expect(await keyRows()).toEqual(keys);
  });

  it('records a key change with the previous key configured, also across a restart before the next block', async () => {
    // Configured, then stopped before any block: nothing is written, and the next start records it all the same.
    ledger = await start(secondKey, firstKey);
    await ledger.close();
    expect((await chainRows()).every((row) => row.split(' ')[1] === first.keyId)).toBe(true);
    ledger = await start(secondKey, firstKey);
    await sealBatch(10, 20, ledger);

    const { blocks } = (await (await fetch(`${ledger.baseUrl}/v1/blocks?from=0&limit=100`)).json()) as {
      blocks: ApiBlock[];
    };
    const handover = blocks.findIndex((block) => block.keyId === second.keyId);
    expect(handover).toBeGreaterThan(0);
    const publicKeys = new Map([first, second].map((k) => [k.keyId, k.publicKey]));
    for (const [h, { hash: _hash, checkpoint, ...header }] of blocks.entries()) {
      expect(header.keyId).toBe(h < handover ? first.keyId : second.keyId);
      // Only the first block of the new key carries the record.
      expect(header.keyChange !== undefined).toBe(h === handover);
      expect(verifyHeader(header, publicKeys)).toEqual({ ok: true });
      expect(verifyCheckpoint(checkpoint, [first, second]).ok).toBe(true);
      if (h > 0) {
        const prev = blocks[h - 1] as ApiBlock;
        const keyOf = (id: string) => (id === first.keyId ? first : second);
        const { hash: _h, checkpoint: _c, ...prevHeader } = prev;
        expect(verifyKeyChange(prevHeader, header, keyOf(prev.keyId), keyOf(header.keyId), ORIGIN)).toEqual({
          ok: true,
        });
      }
    }
    expect(blocks[handover]?.keyChange).toContain(`height ${handover}\nprevious ${blocks[handover]?.previousHash}\n`);

    const { keys } = (await (await fetch(`${ledger.baseUrl}/v1/keys`)).json()) as { keys: ApiKey[] };
    expect(keys.map((k) => k.verifierKey)).toEqual([vkey(first), vkey(second)]);
    const [oldKey, newKey] = keys as [ApiKey, ApiKey];
    expect(oldKey.lastHeight).toBe(handover - 1);
    expect(newKey.firstHeight).toBe(handover);
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
    for (const key of keys) expect(parseVerifierKey(key.verifierKey).ok).toBe(true);

    // The whole chain, as a user checks it: both keys pinned, the handover followed.
    const run = await runVerifyCli('chain', '--url', ledger.baseUrl, '--keyring', keyring, '--quiet');
    expect(run).toMatchObject({ code: 0, stdout: expect.stringContaining('OK chain: ') as unknown });

    // Once handed over, the new key starts alone.
    await ledger.close();
    ledger = await start(secondKey);
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

  it('fails verification at the height of a block another pinned key signed without a key change record', async () => {
    const run = () => runVerifyCli('chain', '--url', ledger!.baseUrl, '--keyring', keyring, '--quiet');
    expect((await run()).code).toBe(0);
    // The newest block (the second key's) re-signed by the first key, which the keyring pins, as whoever still
    // holds the old key could: its header, hash and checkpoint are all valid, only the handover is missing.
    const { blocks } = (await (await fetch(`${ledger!.baseUrl}/v1/blocks?from=0&limit=100`)).json()) as {
      blocks: ApiBlock[];
    };
    const { hash: _hash, checkpoint: _checkpoint, signature: _signature, ...newest } = blocks.at(-1) as ApiBlock;
    expect(newest.keyId).toBe(second.keyId);
    const forged = signHeader({ ...newest, keyId: first.keyId }, first);
    const checkpoint = signCheckpoint(
      { origin: ORIGIN, size: forged.treeSize, root: Buffer.from(forged.root, 'base64'), extensions: [] },
      [first],
    );
    await sql.query('UPDATE block SET key_id = $1, signature = $2, hash = $3, checkpoint = $4 WHERE height = $5', [
      first.keyId,
      Buffer.from(forged.signature, 'base64'),
      Buffer.from(blockHash(forged)),
      checkpoint,
      forged.height,
    ]);

    const result = await run();
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`FAIL block ${forged.height}: key changed without a record`);
    expect(result.stdout).toContain('[VERIFY.KEY_CHANGE_MISSING]');
  });
});

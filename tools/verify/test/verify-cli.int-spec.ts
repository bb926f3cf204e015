import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Client } from 'pg';
import {
  createSigner,
  generateEd25519KeyPair,
  OriginSigner,
  signCheckpoint,
  verifierKey,
} from '@medledger/ledger-core';
import {
  freePort,
  createServiceDatabase,
  eventually,
  testKafkaBrokers,
  runVerifyCli,
  uniqueSuffix,
  workspaceRoot,
  type CliRun,
  type TestDatabase,
} from '@medledger/testing';
import { at } from './test-ledger';

/**
 * medledger-verify as a user runs it: a child process against the built ledger on real Kafka and PostgreSQL.
 * It passes a sound ledger, then names the block of a leaf or header changed directly in the database, and
 * raises the alarm when the recorded checkpoint and the ledger's disagree.
 *
 * The ledger runs as the built process (dist/apps/ledger/main.js), as in apps/ledger/test/crash-safety: a
 * scope:shared tool may not import the ledger app's module (module boundaries).
 */
const root = workspaceRoot();
const ORIGIN = 'medledger.local/ledger';
const FIRST_EVENTS = 300;
const MORE_EVENTS = 40;

const verifyCli = runVerifyCli;

/** On a wrong exit code, fails with everything the CLI printed. */
function expectExit(run: CliRun, code: number): void {
  if (run.code !== code) {
    throw new Error(`exit ${run.code}, expected ${code}\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`);
  }
}

describe('medledger-verify against a running ledger', () => {
  const suffix = uniqueSuffix();
  const topic = `test.${suffix}.supply.events`;
  const producerKeys = generateEd25519KeyPair();
  const supply = new OriginSigner('supply', producerKeys.seed);
  // A key the operator quietly adds to the ledger's keyring under supply's name: the ledger seals what it signs.
  const operatorKeys = generateEd25519KeyPair();
  const operator = new OriginSigner('supply', operatorKeys.seed);
  const ledgerSeed = randomBytes(32);
  const ledgerKey = createSigner(ORIGIN, ledgerSeed);
  const dir = mkdtempSync(join(tmpdir(), 'medledger-verify-'));
  const keyring = join(dir, 'ledger.keys');
  const producerRing = join(dir, 'producers.keys');
  const strangerRing = join(dir, 'stranger.keys');
  const stateFile = join(dir, 'state.checkpoint');
  const bundle = join(dir, 'bundle.json');
  const timings: string[] = [];
  let database: TestDatabase;
  let producer: Producer;
  let ledger: ChildProcess | undefined;
  let baseUrl = '';
  let pg: Client;
  let output = '';
  let events: Array<{ id: string }> = [];

  const treeSize = async (): Promise<number> => {
    const response = await fetch(`${baseUrl}/v1/checkpoint`);
    return response.ok ? Number((await response.text()).split('\n')[1]) : 0;
  };

  async function publish(count: number, offset: number, signer = supply): Promise<void> {
    const batch = signer.signBatch(
      Array.from({ length: count }, (_, n) => ({
        specversion: '1.0',
        id: randomUUID(),
        source: '/medledger/supply',
        type: 'supply.PackCommissioned',
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        data: { serial: `S${1000 + offset + n}` },
      })),
    );
    for (let i = 0; i < batch.length; i += 100) {
      await producer.send({ topic, messages: batch.slice(i, i + 100).map((e) => ({ value: JSON.stringify(e) })) });
    }
    events = [...events, ...batch];
    const expected = offset + count;
    await eventually(async () => ((await treeSize()) >= expected ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
  }

  beforeAll(async () => {
    writeFileSync(keyring, `# the ledger's key, pinned\n${verifierKey(ledgerKey.name, ledgerKey.publicKey)}\n`);
    writeFileSync(producerRing, `# supply's event key, pinned\n${verifierKey('supply', producerKeys.publicKey)}\n`);
    const stranger = createSigner(ORIGIN, randomBytes(32));
    writeFileSync(strangerRing, `${verifierKey(stranger.name, stranger.publicKey)}\n`);
    database = await createServiceDatabase('ledger');
    pg = new Client({ connectionString: database.url });
    await pg.connect();
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    ledger = spawn(process.execPath, [join(root, 'dist/apps/ledger/main.js')], {
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
        LEDGER_PRODUCER_KEYS: [
          verifierKey('supply', producerKeys.publicKey),
          verifierKey('supply', operatorKeys.publicKey),
        ].join(','),
        LEDGER_SIGNING_KEY: ledgerSeed.toString('base64'),
        LEDGER_ORIGIN: ORIGIN,
        LEDGER_BLOCK_MAX_EVENTS: '50',
        KEYS_DIR: join(root, '.data/test-keys', suffix),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    ledger.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    ledger.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    await eventually(async () => ((await fetch(`${baseUrl}/health`)).ok ? true : undefined), {
      timeoutMs: 45_000,
      intervalMs: 250,
    });
    producer = new Kafka({
      clientId: `verify-${suffix}`,
      brokers: testKafkaBrokers(),
      logLevel: logLevel.NOTHING,
    }).producer();
    await producer.connect();
    await publish(FIRST_EVENTS, 0);
  }, 120_000);

  afterAll(async () => {
    if (process.env['DEBUG_LEDGER']) process.stderr.write(output.slice(-5000));
    if (timings.length > 0) process.stdout.write(`\n${timings.join('\n')}\n`);
    ledger?.kill('SIGKILL');
    await producer?.disconnect();
    await pg?.end();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('chain: passes the sound ledger with keys from the ledger, and with a pinned keyring', async () => {
    const online = await verifyCli('chain', '--url', baseUrl);
    expect(online.stderr).toMatch(/chain: 100% 300\/300 leaves/);
    expectExit(online, 0);
    expect(online.stdout).toMatch(/^OK chain: \d+ blocks, 300 leaves, tree size 300, root \S+, origin medledger/);
    timings.push(`chain --url (ledger keys): ${online.stdout.trim()}`);

    const pinned = await verifyCli('chain', '--url', baseUrl, '--keyring', keyring, '--batch', '64');
    expectExit(pinned, 0);
    expect(pinned.stdout).toContain(`keys: keyring ${keyring}`);
    timings.push(`chain --url --keyring --batch 64: ${pinned.stdout.trim()}`);
  });

  it('chain: checks every proof of origin against pinned producer keys, keeps state, bounds the age', async () => {
    const chainState = join(dir, 'chain.state');
    const run = await verifyCli(
      'chain',
      '--url',
      baseUrl,
      '--keyring',
      keyring,
      '--producer-keys',
      producerRing,
      '--state',
      chainState,
      '--max-age',
      '1h',
      '--quiet',
    );
    expectExit(run, 0);
    expect(run.stdout).toContain(`events' proofs of origin: producer keyring ${producerRing}`);
    expect(run.stdout).toContain(`first use, recorded in ${chainState}`);
    timings.push(`chain --producer-keys --state: ${run.stdout.trim()}`);
    const again = await verifyCli('chain', '--url', baseUrl, '--keyring', keyring, '--state', chainState, '--quiet');
    expectExit(again, 0);
    expect(again.stdout).toContain(`extends the tree size 300 recorded in ${chainState}`);
    const stale = await verifyCli('chain', '--url', baseUrl, '--max-age', '0', '--quiet');
    expectExit(stale, 1);
    expect(stale.stdout).toMatch(
      /^FAIL checkpoint: the newest block was sealed at \S+, \d+ s ago.*\[VERIFY.STALE_CHECKPOINT\]/,
    );

    // A history the ledger's key signed at the size recorded, with another root: the alarm, state unchanged.
    const forged = signCheckpoint({ origin: ORIGIN, size: 300, root: randomBytes(32), extensions: [] }, [ledgerKey]);
    writeFileSync(chainState, forged);
    const split = await verifyCli('chain', '--url', baseUrl, '--keyring', keyring, '--state', chainState, '--quiet');
    expectExit(split, 1);
    expect(split.stdout).toContain('!!! SPLIT VIEW OR REWRITTEN HISTORY DETECTED');
    expect(split.stdout).toContain('[VERIFY.ROOT_CHANGED]');
    expect(readFileSync(chainState, 'utf8')).toBe(forged);
  });

  it('inclusion: with pinned producer keys, state and an age bound on the newest checkpoint', async () => {
    const inclusionState = join(dir, 'inclusion.state');
    const args = ['inclusion', '--url', baseUrl, '--event', at(events, 42).id, '--keyring', keyring];
    const run = await verifyCli(...args, '--producer-keys', producerRing, '--max-age', '1h', '--state', inclusionState);
    expectExit(run, 0);
    expect(run.stdout).toContain(`its proof of origin: producer keyring ${producerRing}`);
    expect(run.stdout).toMatch(/newest block sealed at \S+; first use, recorded in /);
    expectExit(await verifyCli(...args, '--state', inclusionState), 0);
  });

  it('chain: refuses a ledger whose key is not in the keyring', async () => {
    const run = await verifyCli('chain', '--url', baseUrl, '--keyring', strangerRing, '--quiet');
    expectExit(run, 1);
    expect(run.stdout).toMatch(/^FAIL latest checkpoint: .*\[VERIFY.CHECKPOINT_INVALID\]/);
    expect(run.stderr).toBe('');
  });

  it('inclusion: proves one event against the signed checkpoint; an unknown one is not found', async () => {
    const event = at(events, 123);
    const run = await verifyCli('inclusion', '--url', baseUrl, '--event', event.id, '--keyring', keyring);
    expectExit(run, 0);
    expect(run.stdout).toMatch(
      new RegExp(`^OK inclusion: event ${event.id} is leaf \\d+ in block \\d+, included in tree size 300 with root `),
    );
    const missing = await verifyCli('inclusion', '--url', baseUrl, '--event', 'no-such-event');
    expectExit(missing, 1);
    expect(missing.stdout).toContain('[VERIFY.EVENT_NOT_FOUND]');
  });

  it('export, then chain and inclusion from the bundle alone', async () => {
    const exported = await verifyCli('export', '--url', baseUrl, '--out', bundle);
    expectExit(exported, 0);
    expect(exported.stdout).toMatch(/^OK export: \d+ blocks, 300 leaves, tree size 300 written to /);
    const offline = await verifyCli('chain', '--bundle', bundle, '--keyring', keyring);
    expectExit(offline, 0);
    expect(offline.stdout).toMatch(/^OK chain: \d+ blocks, 300 leaves, tree size 300/);
    timings.push(`chain --bundle: ${offline.stdout.trim()}`);
    const included = await verifyCli('inclusion', '--bundle', bundle, '--event', at(events, 7).id);
    expectExit(included, 0);
    expect(included.stdout).toContain('included in tree size 300');

    // One character of one leaf changed in the file: the offline check names that leaf's block.
    const { leaves } = (await (await fetch(`${baseUrl}/v1/leaves?start=60&end=61`)).json()) as {
      leaves: Array<{ eventId: string }>;
    };
    const { blockHeight } = (await (await fetch(`${baseUrl}/v1/events/${at(leaves, 0).eventId}`)).json()) as {
      blockHeight: number;
    };
    const lines = readFileSync(bundle, 'utf8').split('\n');
    const line = lines.findIndex((text) => text.startsWith('{"index":60,'));
    const middle = at(lines, line).indexOf('"leafData":"') + 200;
    lines[line] =
      at(lines, line).slice(0, middle) +
      (at(lines, line)[middle] === 'A' ? 'B' : 'A') +
      at(lines, line).slice(middle + 1);
    writeFileSync(bundle, lines.join('\n'));
    const tampered = await verifyCli('chain', '--bundle', bundle, '--keyring', keyring, '--quiet');
    expectExit(tampered, 1);
    expect(tampered.stdout).toMatch(new RegExp(`^FAIL block ${blockHeight}: `));
  });

  it('consistency: records the first checkpoint, then proves the grown log extends it', async () => {
    const first = await verifyCli('consistency', '--url', baseUrl, '--state', stateFile, '--keyring', keyring);
    expectExit(first, 0);
    expect(first.stdout).toMatch(/^OK consistency: first use, trusting and recording tree size 300/);
    expect(readFileSync(stateFile, 'utf8')).toBe(await (await fetch(`${baseUrl}/v1/checkpoint`)).text());

    await publish(MORE_EVENTS, FIRST_EVENTS);
    const second = await verifyCli('consistency', '--url', baseUrl, '--state', stateFile, '--keyring', keyring);
    expectExit(second, 0);
    expect(second.stdout).toMatch(/^OK consistency: tree size 300 -> 340 proven append-only/);
    expect(readFileSync(stateFile, 'utf8').split('\n')[1]).toBe('340');
  });

  it('chain: names the block of a leaf changed by one byte in PostgreSQL', async () => {
    const index = 60;
    const { rows } = await pg.query<{ data: Buffer; block_height: string }>(
      'SELECT data, block_height FROM leaf WHERE index = $1',
      [index],
    );
    const original = at(rows, 0).data;
    const tampered = Buffer.from(original);
    const digit = tampered.indexOf('"serial":"S') + '"serial":"S'.length;
    tampered[digit] = tampered[digit] === 0x31 ? 0x32 : 0x31; // one digit of the serial: still canonical JSON
    await pg.query('UPDATE leaf SET data = $1 WHERE index = $2', [tampered, index]);
    try {
      const run = await verifyCli('chain', '--url', baseUrl, '--keyring', keyring);
      expectExit(run, 1);
      expect(run.stdout).toMatch(
        new RegExp(
          `^FAIL block ${at(rows, 0).block_height}: root mismatch \\(leaves recompute to \\S+, header says \\S+\\) \\[VERIFY.ROOT_MISMATCH\\]`,
        ),
      );
    } finally {
      await pg.query('UPDATE leaf SET data = $1 WHERE index = $2', [original, index]);
    }
  });

  it('chain: names a block whose header field was changed in PostgreSQL', async () => {
    const { rows } = await pg.query<{ height: string }>('SELECT max(height) AS height FROM block');
    const height = at(rows, 0).height;
    await pg.query("UPDATE block SET sealed_at = sealed_at + interval '1 millisecond' WHERE height = $1", [height]);
    try {
      const run = await verifyCli('chain', '--url', baseUrl);
      expectExit(run, 1);
      expect(run.stdout).toBe(
        `FAIL block ${height}: signature invalid (key ${ledgerKey.keyId}) [VERIFY.SIGNATURE_INVALID]\n`,
      );
    } finally {
      await pg.query("UPDATE block SET sealed_at = sealed_at - interval '1 millisecond' WHERE height = $1", [height]);
    }
    // Restored byte for byte: the ledger verifies again.
    expect((await verifyCli('chain', '--url', baseUrl, '--quiet')).code).toBe(0);
  });

  it.each([
    ['a different history at a smaller size', 200, 'VERIFY.CONSISTENCY_FAILED'],
    ['a larger tree than the ledger now shows', 5_000, 'VERIFY.TREE_SHRANK'],
    ['the same size with another root', 340, 'VERIFY.ROOT_CHANGED'],
  ])('consistency: raises the alarm against recorded state with %s', async (_, size, code) => {
    // Signed with the ledger's own key: the ledger once showed someone this checkpoint.
    const forged = signCheckpoint({ origin: ORIGIN, size, root: randomBytes(32), extensions: [] }, [ledgerKey]);
    writeFileSync(stateFile, forged);
    const run = await verifyCli('consistency', '--url', baseUrl, '--state', stateFile, '--keyring', keyring);
    expectExit(run, 1);
    expect(run.stdout).toContain('!!! SPLIT VIEW OR REWRITTEN HISTORY DETECTED');
    expect(run.stdout).toContain(`[${code}]`);
    expect(run.stdout.split('\n').length).toBeGreaterThan(10);
    expect(readFileSync(stateFile, 'utf8')).toBe(forged);
  });

  it('chain and inclusion: name the leaf of an event the operator made up, with pinned producer keys', async () => {
    const before = await treeSize();
    await publish(1, before, operator);
    const madeUp = at(events, events.length - 1);
    // Everything the ledger signs is in order: without the producers' keys, nothing can tell.
    expectExit(await verifyCli('chain', '--url', baseUrl, '--keyring', keyring, '--quiet'), 0);
    const run = await verifyCli('chain', '--url', baseUrl, '--keyring', keyring, '--producer-keys', producerRing);
    expectExit(run, 1);
    expect(run.stdout).toMatch(
      new RegExp(
        `^FAIL block \\d+: leaf ${before}: event "${madeUp.id}": proof of origin fails \\(no key supply\\+${operator.keyId} in the keyring\\) \\[VERIFY.ORIGIN_UNKNOWN_KEY\\]`,
      ),
    );
    const included = await verifyCli(
      'inclusion',
      '--url',
      baseUrl,
      '--event',
      madeUp.id,
      '--producer-keys',
      verifierKey('supply', producerKeys.publicKey),
    );
    expectExit(included, 1);
    expect(included.stdout).toContain('[VERIFY.ORIGIN_UNKNOWN_KEY]');
  });

  it('exits 2 when the ledger cannot be reached', async () => {
    const run = await verifyCli('chain', '--url', `http://127.0.0.1:${await freePort()}`);
    expectExit(run, 2);
    expect(run.stderr).toMatch(/ECONNREFUSED.*\[VERIFY.NETWORK\]/);
  });
});

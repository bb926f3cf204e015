import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { Client } from 'pg';
import {
  fromBase64,
  generateEd25519KeyPair,
  leafHash,
  OriginSigner,
  createSigner,
  verifyCheckpoint,
  verifierKey,
  verifyConsistency,
  verifyInclusion,
} from '@medledger/ledger-core';
import {
  builtLedgerEnv,
  spawnBuiltLedger,
  createServiceDatabase,
  eventually,
  freePort,
  testProducer,
  uniqueSuffix,
  type TestDatabase,
} from '@medledger/testing';

/**
 * One byte of a tile row changed in PostgreSQL, while the ledger is stopped (the rows are all it reads back): the
 * built ledger refuses to start on a changed right-edge tile, and answers 500 LEDGER.TILES_CORRUPT instead of a proof
 * built from a changed interior tile, while every proof that reads no changed row is served and verifies.
 *
 * 700 leaves: full tiles 0/0 and 0/1, right edge 0/2.p/188 and 1/0.p/2.
 */
const EVENTS = 700;

describe('ledger: tiles checked against the signed root', () => {
  const suffix = uniqueSuffix();
  const topic = `test.${suffix}.supply.events`;
  const keys = generateEd25519KeyPair();
  const supply = new OriginSigner('supply', keys.seed);
  const ORIGIN = 'medledger.test/ledger';
  const ledgerSeed = randomBytes(32);
  const ledgerKey = createSigner(ORIGIN, ledgerSeed);
  let database: TestDatabase;
  let pg: Client;
  let producer: Producer;
  let ledger: ChildProcess | undefined;
  let port = 0;
  let output = '';
  let ids: string[] = [];

  const url = (path: string) => `http://127.0.0.1:${port}${path}`;

  function start(): ChildProcess {
    output = '';
    return spawnBuiltLedger(
      {
        ...builtLedgerEnv({
          port,
          databaseUrl: database.url,
          suffix,
          topics: [topic],
          producerKeys: [verifierKey('supply', keys.publicKey)],
          signingSeed: ledgerSeed,
          origin: ORIGIN,
        }),
        LEDGER_BLOCK_MAX_EVENTS: '100',
      },
      (text) => (output += text),
    );
  }

  async function healthy(child: ChildProcess): Promise<void> {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`the ledger exited with ${child.exitCode}:\n${output}`);
        return (await fetch(url('/health')).catch(() => undefined))?.ok ? true : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 250 },
    );
  }

  async function stop(): Promise<void> {
    if (!ledger || ledger.exitCode !== null) return;
    const exited = once(ledger, 'exit');
    ledger.kill('SIGTERM');
    await exited;
  }

  /** Flips bit 0 of byte `offset` of the stored row of tile level/index (twice restores it). */
  async function flip(level: number, index: number, offset: number): Promise<void> {
    const { rowCount } = await pg.query(
      'UPDATE tile SET hashes = set_byte(hashes, $3, get_byte(hashes, $3) # 1) WHERE level = $1 AND index = $2',
      [level, index, offset],
    );
    expect(rowCount).toBe(1);
  }

  const json = async (path: string) => {
    const response = await fetch(url(path));
    return { status: response.status, type: response.headers.get('content-type'), body: await response.json() };
  };

  async function checkpoint() {
    const verified = verifyCheckpoint(await (await fetch(url('/v1/checkpoint'))).text(), [ledgerKey], ORIGIN);
    if (!verified.ok) throw new Error(verified.reason);
    return verified.checkpoint;
  }

  async function leafHashAt(index: number): Promise<Uint8Array> {
    const { body } = await json(`/v1/leaves?start=${index}&end=${index + 1}`);
    return leafHash(
      fromBase64((body as { leaves: Array<{ leafData: string }> }).leaves[0]?.leafData ?? '') as Uint8Array,
    );
  }

  async function inclusionVerifies(index: number): Promise<boolean> {
    const { size, root } = await checkpoint();
    const { status, body } = await json(`/v1/proofs/inclusion?index=${index}&treeSize=${size}`);
    expect(status).toBe(200);
    const proof = (body as { hashes: string[] }).hashes.map((hash) => fromBase64(hash, 32) as Uint8Array);
    return verifyInclusion(await leafHashAt(index), index, size, proof, root).ok;
  }

  beforeAll(async () => {
    database = await createServiceDatabase('ledger');
    pg = new Client({ connectionString: database.url });
    await pg.connect();
    producer = await testProducer();
    port = await freePort();
    ledger = start();
    await healthy(ledger);
    const events = supply.signBatch(
      Array.from({ length: EVENTS }, (_, n) => ({
        specversion: '1.0',
        id: randomUUID(),
        source: '/medledger/supply',
        type: 'supply.PackCommissioned',
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        data: { serial: `S${n}` },
      })),
    );
    for (let i = 0; i < EVENTS; i += 100) {
      await producer.send({ topic, messages: events.slice(i, i + 100).map((e) => ({ value: JSON.stringify(e) })) });
    }
    await eventually(async () => ((await checkpoint().catch(() => undefined))?.size === EVENTS ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    const { body } = await json(`/v1/leaves?start=0&end=${EVENTS}`);
    ids = (body as { leaves: Array<{ eventId: string }> }).leaves.map((leaf) => leaf.eventId);
    const { rows } = await pg.query<{ tile: string }>(
      "SELECT level || '/' || index || '/' || width AS tile FROM tile ORDER BY level, index",
    );
    expect(rows.map((row) => row.tile)).toEqual(['0/0/256', '0/1/256', '0/2/188', '1/0/2']);
    await stop();
  }, 120_000);

  afterAll(async () => {
    if (process.env['DEBUG_LEDGER']) process.stderr.write(output.slice(-5000));
    ledger?.kill('SIGKILL');
    await producer?.disconnect();
    await pg?.end();
    await database?.drop();
  });

  it('refuses to serve a proof that would read a changed interior tile, and serves every other proof', async () => {
    await flip(0, 0, 5 * 32 + 3); // leaf 5's hash in full tile 0/0: the root from the right edge is unchanged
    try {
      ledger = start();
      await healthy(ledger); // the right edge is intact: it starts, and seals on

      const { size, root } = await checkpoint();
      const inclusion = await json(`/v1/proofs/inclusion?index=4&treeSize=${size}`);
      expect(inclusion).toMatchObject({
        status: 500,
        type: expect.stringContaining('application/problem+json') as string,
        body: { code: 'LEDGER.TILES_CORRUPT', tiles: ['0/0'] },
      });
      expect((inclusion.body as { detail: string }).detail).toMatch(
        /tile 0\/0 hashes to \S+, but entry 0 of tile 1\/0 is \S+: the row was changed; the ledger refuses to serve a proof that would not verify/,
      );
      // Receipts (the block's proofs) and consistency proofs that read the tile are refused alike.
      expect(await json(`/v1/blocks/0/proofs?events=${ids[4]}`)).toMatchObject({
        status: 500,
        body: { code: 'LEDGER.TILES_CORRUPT' },
      });
      expect(await json(`/v1/proofs/consistency?from=100&to=${size}`)).toMatchObject({
        status: 500,
        body: { code: 'LEDGER.TILES_CORRUPT' },
      });
      // Proofs that read only intact rows are served and verify.
      expect(await inclusionVerifies(300)).toBe(true);
      expect(await inclusionVerifies(699)).toBe(true);
      // From 256 the proof reads tile 0/1 and the edge; the root at 256 is entry 0 of tile 1/0 (intact).
      const consistency = await json(`/v1/proofs/consistency?from=256&to=${size}`);
      expect(consistency.status).toBe(200);
      const level1 = (await pg.query<{ hashes: Buffer }>('SELECT hashes FROM tile WHERE level = 1')).rows[0]?.hashes;
      const root256 = level1?.subarray(0, 32) as Uint8Array;
      const proof = (consistency.body as { hashes: string[] }).hashes.map((h) => fromBase64(h, 32) as Uint8Array);
      expect(verifyConsistency(256, size, proof, root256, root).ok).toBe(true);

      expect(output).toContain('STORED TREE CORRUPT, proof refused');
      const metrics = await (await fetch(url('/metrics'))).text();
      expect(metrics).toMatch(/^ledger_tiles_corrupt_total(\{[^}]*\})? 3$/m);
      await stop();
    } finally {
      await flip(0, 0, 5 * 32 + 3);
    }
  }, 90_000);

  it('refuses to start on a changed right-edge tile, naming the tiles; starts again once it is restored', async () => {
    await flip(0, 2, 100 * 32); // leaf 612's hash in the partial tile 0/2.p/188
    try {
      ledger = start();
      // 'close', not 'exit': what it printed is all read by then.
      const [code] = (await once(ledger, 'close')) as [number | null];
      expect(code).toBe(1);
      expect(output).toContain('LEDGER.TILES_CORRUPT: the right-edge tiles [0/2.p/188, 1/0.p/2] hash to root');
      expect(output).toMatch(/at tree size 700, block \d+ signed root \S+: a tile row was changed; refusing to start/);
    } finally {
      await flip(0, 2, 100 * 32);
    }
    ledger = start();
    await healthy(ledger);
    expect(await inclusionVerifies(612)).toBe(true);
    expect(await inclusionVerifies(4)).toBe(true);
    await stop();
  }, 90_000);
});

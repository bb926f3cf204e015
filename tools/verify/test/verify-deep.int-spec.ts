import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { Client } from 'pg';
import { createSigner, generateEd25519KeyPair, OriginSigner, verifierKey } from '@medledger/ledger-core';
import {
  builtLedgerEnv,
  spawnBuiltLedger,
  createServiceDatabase,
  eventually,
  freePort,
  runVerifyCli,
  testProducer,
  uniqueSuffix,
  type CliRun,
  type TestDatabase,
} from '@medledger/testing';

/**
 * `chain --deep` against the built ledger on real Kafka and PostgreSQL. The chain check recomputes every root from
 * the leaves and never reads the stored tree (the tile rows) that proofs are served from, so a changed tile row
 * passes it. The deep check asks for the proofs: a row changed in PostgreSQL is refused by the ledger
 * (LEDGER.TILES_CORRUPT) and named by the verifier; a proof changed on its way (a proxy in front of the ledger, as
 * any party on the path could) is "served proof does not verify", naming the block and the leaf.
 *
 * 600 leaves in blocks of at most 100: full tiles 0/0 and 0/1, right edge 0/2.p/88 and 1/0.p/2.
 */
const ORIGIN = 'medledger.test/ledger';
const EVENTS = 600;

function expectExit(run: CliRun, code: number): void {
  if (run.code !== code) {
    throw new Error(`exit ${run.code}, expected ${code}\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`);
  }
}

/** One bit of one base64 hash flipped. */
function flipped(hash: string): string {
  const bytes = Buffer.from(hash, 'base64');
  bytes[0] = (bytes[0] as number) ^ 0x01;
  return bytes.toString('base64');
}

describe('medledger-verify chain --deep: the proofs the ledger serves', () => {
  const suffix = uniqueSuffix();
  const topic = `test.${suffix}.supply.events`;
  const producerKeys = generateEd25519KeyPair();
  const supply = new OriginSigner('supply', producerKeys.seed);
  const ledgerSeed = randomBytes(32);
  const ledgerKey = createSigner(ORIGIN, ledgerSeed);
  const dir = mkdtempSync(join(tmpdir(), 'medledger-deep-'));
  const keyring = join(dir, 'ledger.keys');
  let database: TestDatabase;
  let pg: Client;
  let producer: Producer;
  let ledger: ChildProcess | undefined;
  let port = 0;
  let baseUrl = '';
  let output = '';
  let blocks: Array<{ height: number; firstLeafIndex: number; treeSize: number }> = [];

  function start(): ChildProcess {
    return spawnBuiltLedger(
      {
        ...builtLedgerEnv({
          port,
          databaseUrl: database.url,
          suffix,
          topics: [topic],
          producerKeys: [verifierKey('supply', producerKeys.publicKey)],
          signingSeed: ledgerSeed,
          origin: ORIGIN,
        }),
        LEDGER_BLOCK_MAX_EVENTS: '100',
      },
      (text) => (output += text),
    );
  }

  async function restart(): Promise<void> {
    if (ledger && ledger.exitCode === null) {
      const exited = once(ledger, 'exit');
      ledger.kill('SIGTERM');
      await exited;
    }
    const child = (ledger = start());
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`the ledger exited with ${child.exitCode}:\n${output}`);
        return (await fetch(`${baseUrl}/health`).catch(() => undefined))?.ok ? true : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 250 },
    );
  }

  const treeSize = async (): Promise<number> => {
    const response = await fetch(`${baseUrl}/v1/checkpoint`).catch(() => undefined);
    return response?.ok ? Number((await response.text()).split('\n')[1]) : 0;
  };

  /** A proxy in front of the ledger that passes everything on, after `change` had its way with JSON answers. */
  async function proxy(change: (path: string, body: unknown) => void): Promise<{ url: string; server: Server }> {
    const server = createServer((request, response) => {
      const path = request.url ?? '/';
      void (async () => {
        const answer = await fetch(`${baseUrl}${path}`);
        let text = await answer.text();
        if (answer.ok && answer.headers.get('content-type')?.includes('json')) {
          const body = JSON.parse(text) as unknown;
          change(path, body);
          text = JSON.stringify(body);
        }
        response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
        response.end(text);
      })().catch(() => response.destroy());
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
  }

  /** The block holding leaf `index`. */
  const blockOf = (index: number) => blocks.find((b) => b.firstLeafIndex <= index && index < b.treeSize);

  beforeAll(async () => {
    writeFileSync(keyring, `${verifierKey(ledgerKey.name, ledgerKey.publicKey)}\n`);
    database = await createServiceDatabase('ledger');
    pg = new Client({ connectionString: database.url });
    await pg.connect();
    producer = await testProducer();
    port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    await restart();
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
    await eventually(async () => ((await treeSize()) === EVENTS ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    blocks = ((await (await fetch(`${baseUrl}/v1/blocks?from=0&limit=1000`)).json()) as { blocks: typeof blocks })
      .blocks;
  }, 120_000);

  afterAll(async () => {
    if (process.env['DEBUG_LEDGER']) process.stderr.write(output.slice(-5000));
    ledger?.kill('SIGKILL');
    await producer?.disconnect();
    await pg?.end();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes the sound ledger: a consistency proof per block, every leaf (or a sample) proven into its block', async () => {
    const all = await runVerifyCli('chain', '--url', baseUrl, '--keyring', keyring, '--deep');
    expectExit(all, 0);
    expect(all.stdout).toMatch(/^OK chain: \d+ blocks, 600 leaves, tree size 600, /);
    expect(all.stdout).toContain(
      `; deep: served proofs verify against the signed roots: ${blocks.length - 1} consistency (block to block), ` +
        '600 inclusion (every leaf)',
    );
    expect(all.stderr).toMatch(/deep: 100% \d+\/\d+ proofs/);
    const sampled = await runVerifyCli('chain', '--url', baseUrl, '--deep', '--sample', '40', '--quiet');
    expectExit(sampled, 0);
    expect(sampled.stdout).toContain('40 inclusion (40 random leaves of 600)');
  });

  it('names the block and leaf of an inclusion proof changed on its way; the plain chain check cannot', async () => {
    const target = 437;
    const { url, server } = await proxy((path, body) => {
      if (!/^\/v1\/blocks\/\d+\/proofs\?/.test(path)) return;
      for (const proof of (body as { proofs: Array<{ index: number; hashes: string[] }> }).proofs) {
        if (proof.index === target) proof.hashes[3] = flipped(proof.hashes[3] as string);
      }
    });
    try {
      expectExit(await runVerifyCli('chain', '--url', url, '--keyring', keyring, '--quiet'), 0);
      const deep = await runVerifyCli('chain', '--url', url, '--keyring', keyring, '--deep', '--quiet');
      expectExit(deep, 1);
      expect(deep.stdout).toMatch(
        new RegExp(
          `^FAIL block ${blockOf(target)?.height}: leaf ${target}: served proof does not verify ` +
            `\\(inclusion into tree size ${blockOf(target)?.treeSize}: .*\\) \\[VERIFY.SERVED_PROOF_INVALID\\]\\n$`,
        ),
      );
    } finally {
      server.close();
    }
  });

  it('names the block of a consistency proof changed on its way', async () => {
    const block = blocks[3] as (typeof blocks)[number];
    const { url, server } = await proxy((path, body) => {
      if (!path.startsWith(`/v1/proofs/consistency?from=${block.firstLeafIndex}&`)) return;
      const hashes = (body as { hashes: string[] }).hashes;
      hashes[0] = flipped(hashes[0] as string);
    });
    try {
      const deep = await runVerifyCli('chain', '--url', url, '--deep', '--quiet');
      expectExit(deep, 1);
      expect(deep.stdout).toMatch(
        new RegExp(
          `^FAIL block 3: consistency from tree size ${block.firstLeafIndex} \\(block 2\\) to ${block.treeSize}: ` +
            'served proof does not verify .*\\[VERIFY.SERVED_PROOF_INVALID\\]',
        ),
      );
    } finally {
      server.close();
    }
  });

  it('a tile row changed in PostgreSQL: the chain check passes, --deep names the proof the ledger refuses', async () => {
    // One byte of leaf 266's hash in full tile 0/1: the leaves are intact, so every root still recomputes. Changed
    // while the ledger is stopped: a running ledger serves this tile from memory (it wrote it).
    const flip = () =>
      pg.query(
        'UPDATE tile SET hashes = set_byte(hashes, 330, get_byte(hashes, 330) # 1) WHERE level = 0 AND index = 1',
      );
    await flip();
    try {
      await restart();
      const plain = await runVerifyCli('chain', '--url', baseUrl, '--keyring', keyring, '--quiet');
      expectExit(plain, 0);
      const deep = await runVerifyCli('chain', '--url', baseUrl, '--keyring', keyring, '--deep', '--quiet');
      expectExit(deep, 1);
      // The first block whose proofs read tile 0/1 (it ends past leaf 256): its consistency proof from the block before.
      const first = blocks.find((b) => b.treeSize > 256) as (typeof blocks)[number];
      expect(deep.stdout).toMatch(
        new RegExp(
          `^FAIL block ${first.height}: consistency from tree size ${first.firstLeafIndex} \\(block ${first.height - 1}\\) ` +
            `to ${first.treeSize}: the ledger refused to serve the proof \\(GET /v1/proofs/consistency\\?from=\\d+&to=\\d+: ` +
            'HTTP 500 LEDGER.TILES_CORRUPT: tile 0/1 hashes to .*\\) \\[VERIFY.PROOF_REFUSED\\]\\n$',
        ),
      );
    } finally {
      await flip();
    }
    // Restored byte for byte: the deep check passes again (the ledger kept no answer from the changed row).
    expectExit(await runVerifyCli('chain', '--url', baseUrl, '--deep', '--quiet'), 0);
  });

  it('audit: the store as written passes; a tile row changed under the running ledger is named at once', async () => {
    const audit = () => runVerifyCli('audit', '--database-url', database.url, '--keyring', keyring, '--quiet');
    const sound = await audit();
    expectExit(sound, 0);
    expect(sound.stdout).toMatch(
      /^OK audit: \d+ blocks, 600 leaves, tree size 600, .*; 4 stored tiles equal to the tiles/,
    );
    // Leaf 266's hash (entry 10 of tile 0/1), changed while the ledger runs: it serves that tile from memory (it
    // wrote it), so --deep cannot see the row until a restart; the audit reads the row.
    const flip = () =>
      pg.query(
        'UPDATE tile SET hashes = set_byte(hashes, 330, get_byte(hashes, 330) # 1) WHERE level = 0 AND index = 1',
      );
    await flip();
    try {
      const found = await audit();
      expectExit(found, 1);
      expect(found.stdout).toMatch(
        new RegExp(
          `^FAIL block ${blockOf(266)?.height}: stored tile 0/1 \\(leaves \\[266, 267\\) at entry 10\\): entry 10 is .*, ` +
            'the leaves recompute to .* \\[VERIFY.TILE_MISMATCH\\]\\n$',
        ),
      );
      expectExit(await runVerifyCli('chain', '--url', baseUrl, '--keyring', keyring, '--deep', '--quiet'), 0);
    } finally {
      await flip();
    }
    expectExit(await audit(), 0);
    // A header field changed in the store: named as chain names it through the API.
    await pg.query("UPDATE block SET sealed_at = sealed_at + interval '1 ms' WHERE height = 2");
    try {
      const header = await audit();
      expectExit(header, 1);
      expect(header.stdout).toMatch(/^FAIL block 2: signature invalid .*\[VERIFY.SIGNATURE_INVALID\]\n$/);
    } finally {
      await pg.query("UPDATE block SET sealed_at = sealed_at - interval '1 ms' WHERE height = 2");
    }
  });
});

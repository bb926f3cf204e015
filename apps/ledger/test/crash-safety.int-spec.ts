import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { generateEd25519KeyPair, OriginSigner, verifierKey } from '@medledger/ledger-core';
import {
  createServiceDatabase,
  eventually,
  testKafkaBrokers,
  testProducer,
  uniqueSuffix,
  workspaceRoot,
  type TestDatabase,
} from '@medledger/testing';

/**
 * The built ledger, killed with SIGKILL while events stream in, then restarted: every event ends up in the
 * log exactly once, with gap-free indexes, and the blocks still link (no half block, no duplicate, no gap).
 */
const EVENTS = 3_000;
const PORT = 3190;

describe('ledger crash safety', () => {
  const suffix = uniqueSuffix();
  const topic = `test.${suffix}.supply.events`;
  const keys = generateEd25519KeyPair();
  const supply = new OriginSigner('supply', keys.seed);
  let database: TestDatabase;
  let producer: Producer;
  let ledger: ChildProcess | undefined;
  let output = '';

  function start(): ChildProcess {
    const child = spawn(process.execPath, [join(workspaceRoot(), 'dist/apps/ledger/main.js')], {
      env: {
        ...process.env,
        PORT: String(PORT),
        HOST: '127.0.0.1',
        DATABASE_URL: database.url,
        KAFKA_BROKERS: testKafkaBrokers().join(','),
        KAFKA_GROUP_ID: `ledger-diag-${suffix}`,
        LEDGER_GROUP_ID: `ledger-${suffix}`,
        LEDGER_TOPICS: topic,
        LEDGER_PRODUCER_KEYS: verifierKey('supply', keys.publicKey),
        LEDGER_BLOCK_MAX_EVENTS: '100',
        KEYS_DIR: join(workspaceRoot(), '.data/test-keys', suffix),
        LOG_LEVEL: process.env['LEDGER_LOG_LEVEL'] ?? 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Kept for the failure message: a ledger that refuses events says why in its log.
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    return child;
  }

  const json = async <T>(path: string): Promise<T | undefined> => {
    try {
      const response = await fetch(`http://127.0.0.1:${PORT}${path}`);
      return response.ok ? ((await response.json()) as T) : undefined;
    } catch {
      return undefined;
    }
  };
  const treeSize = async () =>
    (await json<{ blocks: Array<{ treeSize: number }> }>('/v1/blocks?from=0&limit=1000'))?.blocks.at(-1)?.treeSize ?? 0;

  beforeAll(async () => {
    database = await createServiceDatabase('ledger');
    producer = await testProducer();
  });

  afterAll(async () => {
    if (expect.getState().assertionCalls === 0 || process.env['DEBUG_LEDGER'])
      process.stderr.write(output.slice(-5000));
    ledger?.kill('SIGKILL');
    await producer?.disconnect();
    await database?.drop();
  });

  it('restarts after SIGKILL mid-stream with no gap, no duplicate and no half block', async () => {
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
    ledger = start();
    await eventually(() => json('/health'), { timeoutMs: 45_000 });

    // Publish in slices while the ledger seals; kill it once some, but not all, are sealed.
    const publishing = (async () => {
      for (let i = 0; i < EVENTS; i += 100) {
        await producer.send({ topic, messages: events.slice(i, i + 100).map((e) => ({ value: JSON.stringify(e) })) });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    await eventually(async () => ((await treeSize()) >= 500 ? true : undefined), { timeoutMs: 30_000, intervalMs: 20 });
    const exited = once(ledger, 'exit');
    ledger.kill('SIGKILL');
    await exited;
    await publishing;

    ledger = start();
    await eventually(async () => ((await treeSize()) >= EVENTS ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    expect(await treeSize()).toBe(EVENTS);

    const ids = new Set<string>();
    for (let start = 0; start < EVENTS; start += 1000) {
      const page = await json<{ leaves: Array<{ index: number; eventId: string }> }>(
        `/v1/leaves?start=${start}&end=${start + 1000}`,
      );
      page?.leaves.forEach((leaf, offset) => {
        expect(leaf.index).toBe(start + offset);
        ids.add(leaf.eventId);
      });
    }
    expect(ids).toEqual(new Set(events.map((e) => e.id)));

    const { blocks } = (await json<{
      blocks: Array<{ height: number; firstLeafIndex: number; leafCount: number; treeSize: number }>;
    }>('/v1/blocks?from=0&limit=1000'))!;
    blocks.forEach((block, i) => {
      expect(block.height).toBe(i);
      expect(block.firstLeafIndex).toBe(i === 0 ? 0 : blocks[i - 1]!.treeSize);
      expect(block.treeSize).toBe(block.firstLeafIndex + block.leafCount);
    });
    // The restart waits for the killed member's Kafka session (10 s) to expire.
  }, 120_000);
});

import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import {
  generateEd25519KeyPair,
  OriginSigner,
  parseVerifierKey,
  verifierKey,
  verifyBlockReceipts,
} from '@medledger/ledger-core';
import { eventually, startService, testProducer, uniqueSuffix, type RunningService } from '@medledger/testing';
import { LedgerModule } from '../src/app.module';

/** `GET /v1/blocks/{height}/proofs`: what a producing service proves its receipts with (ADR 0010). */
describe('ledger block proofs', () => {
  const suffix = uniqueSuffix();
  const topic = `test.${suffix}.supply.events`;
  const keys = generateEd25519KeyPair();
  const supply = new OriginSigner('supply', keys.seed);
  let ledger: RunningService;
  let producer: Producer;
  const get = async (path: string) => {
    const response = await fetch(ledger.baseUrl + path);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    ledger = await startService('ledger', (config) =>
      LedgerModule.forRoot(config, {
        LEDGER_TOPICS: topic,
        LEDGER_GROUP_ID: `ledger-test-${suffix}`,
        LEDGER_PRODUCER_KEYS: verifierKey('supply', keys.publicKey),
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

  it('proves the named events of one block in one answer, and names those it does not hold', async () => {
    const events = supply.signBatch(
      Array.from({ length: 6 }, (_, n) => ({
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
    const leaf = await eventually(async () => {
      const found = await get(`/v1/events/${events[3]?.id}`);
      return found.status === 200 ? (found.body as { blockHeight: number }) : undefined;
    });
    const stranger = randomUUID();
    const wanted = [events[1], events[3]].filter((e) => e !== undefined);
    const { status, body } = await get(
      `/v1/blocks/${leaf.blockHeight}/proofs?events=${[...wanted.map((e) => e.id), stranger].join(',')}`,
    );
    expect(status).toBe(200);
    const answer = body as {
      block: Record<string, unknown> & { checkpoint: string };
      proofs: Array<{ eventId: string; index: number; leafData: string; hashes: string[] }>;
      absent: string[];
    };
    expect(answer.absent).toEqual([stranger]);
    const { keys: served } = (await get('/v1/keys')).body as { keys: Array<{ verifierKey: string }> };
    const pinned = served.map((k) => {
      const parsed = parseVerifierKey(k.verifierKey);
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.value;
    });
    // verifyBlockReceipts compares the events without their proof-of-origin attributes.
    const envelopes = new Map<string, Record<string, unknown>>(
      wanted.map((e) => [e.id, e as unknown as Record<string, unknown>]),
    );
    const verdict = verifyBlockReceipts(
      {
        block: answer.block,
        checkpoint: answer.block.checkpoint,
        leaves: answer.proofs.map((p) => ({
          eventId: p.eventId,
          envelope: envelopes.get(p.eventId) ?? {},
          leafIndex: p.index,
          leafData: p.leafData,
          proof: p.hashes,
        })),
      },
      pinned,
      'medledger.local/ledger',
    );
    expect(verdict).toMatchObject({ ok: true });
    expect(answer.proofs.map((p) => p.eventId).sort()).toEqual(wanted.map((e) => e.id).sort());
  });

  it('refuses too many ids and answers 404 for a block that does not exist', async () => {
    const many = Array.from({ length: 201 }, () => randomUUID()).join(',');
    expect((await get(`/v1/blocks/0/proofs?events=${many}`)).body).toMatchObject({ code: 'LEDGER.OUT_OF_RANGE' });
    expect((await get('/v1/blocks/0/proofs')).body).toMatchObject({ code: 'LEDGER.OUT_OF_RANGE' });
    expect(await get(`/v1/blocks/999999/proofs?events=${randomUUID()}`)).toMatchObject({
      status: 404,
      body: { code: 'LEDGER.BLOCK_NOT_FOUND' },
    });
  });
});

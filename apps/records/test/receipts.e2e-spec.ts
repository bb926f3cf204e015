import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Producer } from 'kafkajs';
import { BlockSealedMessage, LEDGER_BLOCKS_TOPIC, type BlockSealedData } from '@medledger/contracts';
import type { Sql } from '@medledger/event-store';
import { ed25519PublicKeyFromSeed, verifierKey } from '@medledger/ledger-core';
import { DEAD_LETTER_SUFFIX, PRISMA } from '@medledger/platform';
import {
  eventually,
  jsonOf,
  recordTopics,
  startLedgerProcess,
  startService,
  testAuth,
  testProducer,
  uniqueSuffix,
  type LedgerProcess,
  type RunningService,
  type TopicRecorder,
} from '@medledger/testing';
import { RecordsModule } from '../src/app.module';

/**
 * Issue 15 item 6 through records and the real ledger process: a ledger.BlockSealed is verified (checkpoint
 * signature, then the block, each of our leaves and its inclusion proof from the ledger) before a receipt is kept; a
 * forged one is dead-lettered and changes nothing; a receipt kept unverified is proven again, corrected or removed.
 */
describe('records receipts: announcements verified before they are kept', () => {
  const seed = randomBytes(32);
  const eventsTopic = `test.${uniqueSuffix()}.records.events`;
  const dlq = LEDGER_BLOCKS_TOPIC + DEAD_LETTER_SUFFIX;
  let ledger: LedgerProcess;
  let records: RunningService;
  let recorder: TopicRecorder;
  let producer: Producer;
  /** Sits between records and the ledger's HTTP API; `down` makes it answer 503. */
  let proxy: Server;
  let down = false;
  const auth = testAuth('records');
  let bearer: Record<string, string> = {};

  const sql = () => records.app.get<Sql>(PRISMA);
  const receipt = async (eventId: string) =>
    (
      await sql().$queryRawUnsafe<Array<{ leaf_index: bigint; block_height: bigint; verified_at: Date | null }>>(
        'SELECT leaf_index, block_height, verified_at FROM es_receipt WHERE event_id = $1',
        eventId,
      )
    )[0];
  const onLedger = async (eventId: string) =>
    (await (await fetch(`${ledger.baseUrl}/v1/events/${eventId}`)).json()) as { index: number; blockHeight: number };

  async function register(): Promise<string> {
    const response = await fetch(`${records.baseUrl}/fhir/Patient`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Receipt' }], birthDate: '1970-01-01' }),
    });
    expect(response.status).toBe(201);
    return response.headers.get('x-medledger-event-id') as string;
  }

  /** The genuine announcement of the block that sealed `eventId`, as the ledger published it. */
  const announcementOf = (eventId: string) =>
    eventually(
      async () => {
        for (const m of recorder.messages) {
          if (m.topic !== LEDGER_BLOCKS_TOPIC) continue;
          const parsed = BlockSealedMessage.safeParse(jsonOf(m.message.value));
          if (parsed.success && parsed.data.events.some((e) => e.eventId === eventId))
            return { data: parsed.data, envelope: jsonOf(m.message.value) as { data: BlockSealedData } };
        }
        return undefined;
      },
      { timeoutMs: 30_000 },
    );

  const deadLetter = (tag: string) =>
    eventually(async () =>
      recorder.messages.find((m) => m.topic === dlq && m.message.headers?.['test-tag']?.toString() === tag),
    );

  beforeAll(async () => {
    ledger = await startLedgerProcess({
      topics: [eventsTopic],
      producerKeys: [verifierKey('records', ed25519PublicKeyFromSeed(seed))],
      env: { LEDGER_BLOCK_MAX_AGE_MS: '50' },
    });
    proxy = createServer((request, response) => {
      void (async () => {
        if (down) {
          response.writeHead(503);
          response.end('down');
          return;
        }
        const upstream = await fetch(ledger.baseUrl + (request.url ?? '/'));
        response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain' });
        response.end(await upstream.text());
      })().catch((error: unknown) => {
        response.writeHead(500);
        response.end(String(error));
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    records = await startService('records', (config) =>
      RecordsModule.forRoot(config, {
        EVENT_SIGNING_KEY: seed.toString('base64'),
        PUBLIC_EVENTS_TOPIC: eventsTopic,
        LEDGER_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
        LEDGER_VERIFIER_KEYS: ledger.verifierKey,
        LEDGER_ORIGIN: ledger.origin,
        RECEIPT_VERIFY_INTERVAL_MS: '200',
        RECORDS_MASTER_KEY: randomBytes(32).toString('base64'),
        KEYS_DIR: `.data/test-keys/${uniqueSuffix()}`,
        ...auth.env,
      }),
    );
    bearer = await auth.headers('Practitioner/dr-receipts', 'practitioner');
    recorder = await recordTopics([LEDGER_BLOCKS_TOPIC, dlq]);
    producer = await testProducer();
  }, 120_000);

  afterAll(async () => {
    await Promise.all([recorder?.stop(), producer?.disconnect()]);
    await records?.close();
    await ledger?.stop();
    proxy?.closeAllConnections();
    if (proxy) await new Promise((resolve) => proxy.close(resolve));
  });

  it('keeps the receipt of a genuine announcement, verified, at the leaf the ledger proves', async () => {
    const eventId = await register();
    const row = await eventually(async () => ((await receipt(eventId))?.verified_at ? receipt(eventId) : undefined));
    const leaf = await onLedger(eventId);
    expect(Number(row?.leaf_index)).toBe(leaf.index);
    expect(Number(row?.block_height)).toBe(leaf.blockHeight);
    expect((await fetch(`${records.baseUrl}/v1/events/${eventId}/receipt`, { headers: bearer })).status).toBe(200);
  });

  it('dead-letters a forged announcement and keeps nothing of it; the genuine one is kept after', async () => {
    const eventId = await register();
    const genuine = await announcementOf(eventId);
    await eventually(async () => ((await receipt(eventId))?.verified_at ? true : undefined));
    // As if the forgeries had come first: forget the genuine announcement (its receipt and its inbox row).
    await sql().$executeRawUnsafe('DELETE FROM es_receipt WHERE event_id = $1', eventId);
    await sql().$executeRawUnsafe(
      "DELETE FROM es_inbox WHERE consumer = 'receipts' AND event_id = $1",
      `ledger.BlockSealed/${genuine.data.height}/${genuine.data.blockHash}`,
    );

    const badSignature = genuine.data.checkpoint.replace(/— (\S+) (\S+)\n/, (_m, name: string, sig: string) => {
      const bytes = Buffer.from(sig, 'base64');
      bytes[10] = (bytes[10] ?? 0) ^ 0x80;
      return `— ${name} ${bytes.toString('base64')}\n`;
    });
    const wrongIndex = genuine.data.events.map((e) => (e.eventId === eventId ? { ...e, index: e.index + 1 } : e));
    const forged = (tag: string, data: Partial<BlockSealedData>) => ({
      value: JSON.stringify({ ...genuine.envelope, data: { ...genuine.envelope.data, ...data } }),
      headers: { 'test-tag': tag },
    });
    const tag = randomUUID();
    await producer.send({
      topic: LEDGER_BLOCKS_TOPIC,
      messages: [
        forged(`${tag}-signature`, { checkpoint: badSignature }),
        forged(`${tag}-index`, { events: wrongIndex }),
      ],
    });
    const [signature, index] = await Promise.all([deadLetter(`${tag}-signature`), deadLetter(`${tag}-index`)]);
    expect(signature.message.headers?.['dlq-reason-code']?.toString()).toBe('RECEIPT.BAD_CHECKPOINT');
    expect(index.message.headers?.['dlq-reason-code']?.toString()).toBe('RECEIPT.ANNOUNCEMENT_MISMATCH');
    expect(await receipt(eventId)).toBeUndefined();

    await producer.send({ topic: LEDGER_BLOCKS_TOPIC, messages: [{ value: JSON.stringify(genuine.envelope) }] });
    const row = await eventually(async () => ((await receipt(eventId))?.verified_at ? receipt(eventId) : undefined));
    expect(Number(row?.leaf_index)).toBe((await onLedger(eventId)).index);
  });

  it('proves receipts stored unverified again: a wrong index or block corrected, an unsupported claim removed', async () => {
    const [wrongIndex, wrongBlock] = [await register(), await register()];
    await eventually(async () =>
      (await receipt(wrongIndex))?.verified_at && (await receipt(wrongBlock))?.verified_at ? true : undefined,
    );
    // Rows as an unverified announcement could have left them before receipts were verified.
    await sql().$executeRawUnsafe(
      'UPDATE es_receipt SET verified_at = NULL, leaf_index = leaf_index + 1000 WHERE event_id = $1',
      wrongIndex,
    );
    await sql().$executeRawUnsafe(
      'UPDATE es_receipt SET verified_at = NULL, block_height = 999999 WHERE event_id = $1',
      wrongBlock,
    );
    // An event of ours the ledger never sealed (its outbox row marked published so that the relay leaves it alone).
    const neverSealed = randomUUID();
    await sql().$executeRawUnsafe(
      `INSERT INTO es_outbox (event_id, topic, key, envelope, created_at, published_at)
       VALUES ($1, $2, $1, $3::jsonb, now(), now())`,
      neverSealed,
      eventsTopic,
      JSON.stringify({ id: neverSealed, type: 'records.PatientRegistered' }),
    );
    const { blockHeight } = await onLedger(wrongIndex);
    await sql().$executeRawUnsafe(
      `INSERT INTO es_receipt (event_id, leaf_index, block_height, tree_size, checkpoint, received_at)
       VALUES ($1, 0, $2, 1, 'forged', now())`,
      neverSealed,
      String(blockHeight),
    );

    await eventually(
      async () => {
        const [a, b, c] = [await receipt(wrongIndex), await receipt(wrongBlock), await receipt(neverSealed)];
        return a?.verified_at && b?.verified_at && c === undefined ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );
    for (const eventId of [wrongIndex, wrongBlock]) {
      const [row, leaf] = [await receipt(eventId), await onLedger(eventId)];
      expect([Number(row?.leaf_index), Number(row?.block_height)]).toEqual([leaf.index, leaf.blockHeight]);
    }
  });

  it('keeps receipts unverified while the ledger does not answer, and proves them once it does', async () => {
    down = true;
    try {
      const eventId = await register();
      await announcementOf(eventId);
      await eventually(async () => ((await receipt(eventId)) ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect((await receipt(eventId))?.verified_at).toBeNull();
      const unsealed = (await (
        await fetch(`${records.baseUrl}/v1/events/unsealed?olderThanMs=0`, { headers: bearer })
      ).json()) as { events: Array<{ eventId: string }> };
      expect(unsealed.events.map((e) => e.eventId)).toContain(eventId);
      down = false;
      const row = await eventually(async () => ((await receipt(eventId))?.verified_at ? receipt(eventId) : undefined));
      expect(Number(row?.leaf_index)).toBe((await onLedger(eventId)).index);
    } finally {
      down = false;
    }
  });
});

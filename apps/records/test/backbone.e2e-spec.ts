import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Producer } from 'kafkajs';
import { Client } from 'pg';
import { KafkaContext } from '@nestjs/microservices';
import { z } from 'zod';
import { LEDGER_BLOCKS_TOPIC, type BlockSealedData } from '@medledger/contracts';
import {
  EVENT_STORE,
  EVENT_STORE_SQL,
  HANDLER_MAX_ATTEMPTS,
  ReliableConsumer,
  VersionConflict,
  type ConsumeOutcome,
  type EventStore,
  type Sql,
  type TransactionalSql,
} from '@medledger/event-store';
import { ed25519PublicKeyFromSeed, OriginVerifier, verifierKey } from '@medledger/ledger-core';
import { PRISMA } from '@medledger/platform';
import {
  eventually,
  jsonOf,
  recordTopics,
  testKafka,
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
 * The event-sourcing backbone end to end, through records' Patient slice:
 * HTTP command → event store + outbox → Kafka (signed batch) → the real ledger process → BlockSealed → receipt.
 */
describe('records backbone: event store, outbox, ledger receipts', () => {
  const seed = randomBytes(32);
  /** This suite's own public topic (PUBLIC_EVENTS_TOPIC): the shared records topic may hold a long history. */
  const eventsTopic = `test.${uniqueSuffix()}.records.events`;
  const recordsKey = verifierKey('records', ed25519PublicKeyFromSeed(seed));
  let ledger: LedgerProcess;
  let records: RunningService;
  let recorder: TopicRecorder;
  let producer: Producer;
  /** Sits between records and the ledger; can forge the ledger's answers. */
  let proxy: Server;
  let tamper: 'none' | 'proof' | 'checkpoint-signature' | 'leaf' = 'none';

  const auth = testAuth('records');
  let bearer: Record<string, string> = {};
  const http = (path: string, init: RequestInit = {}) =>
    fetch(records.baseUrl + path, { ...init, headers: { ...bearer, ...(init.headers as Record<string, string>) } });
  /** As the patient themself: anyone else needs the patient's consent. */
  const asPatient = async (id: string, path: string, init: RequestInit = {}) =>
    fetch(records.baseUrl + path, {
      ...init,
      headers: { ...(await auth.headers(`Patient/${id}`, 'patient')), ...(init.headers as Record<string, string>) },
    });
  const fhir = (method: string, body: unknown, headers: Record<string, string> = {}) => ({
    method,
    headers: { 'content-type': 'application/fhir+json', ...headers },
    body: JSON.stringify(body),
  });
  const alice = { resourceType: 'Patient', name: [{ family: 'Zweistein', given: ['Alice'] }], birthDate: '1980-02-29' };

  beforeAll(async () => {
    ledger = await startLedgerProcess({
      topics: [eventsTopic],
      producerKeys: [recordsKey],
      env: { LEDGER_BLOCK_MAX_AGE_MS: '50' },
    });
    proxy = createServer((request, response) => {
      void (async () => {
        const upstream = await fetch(ledger.baseUrl + (request.url ?? '/'));
        let body = await upstream.text();
        if (tamper === 'proof' && request.url?.startsWith('/v1/proofs/inclusion')) {
          const parsed = JSON.parse(body) as { hashes: string[] };
          const first = Buffer.from(parsed.hashes[0] ?? '', 'base64');
          first[0] = (first[0] ?? 0) ^ 1;
          parsed.hashes[0] = first.toString('base64');
          body = JSON.stringify(parsed);
        }
        if (tamper === 'checkpoint-signature' && request.url === '/v1/checkpoint') {
          body = body.replace(/— (\S+) (\S+)\n/, (_m, name: string, sig: string) => {
            const bytes = Buffer.from(sig, 'base64');
            bytes[10] = (bytes[10] ?? 0) ^ 0x80;
            return `— ${name} ${bytes.toString('base64')}\n`;
          });
        }
        if (tamper === 'leaf' && request.url?.startsWith('/v1/events/')) {
          const parsed = JSON.parse(body) as { leafData: string };
          parsed.leafData = Buffer.from(
            Buffer.from(parsed.leafData, 'base64').toString('utf8').replace('"records.Patient', '"records.Xatient'),
          ).toString('base64');
          body = JSON.stringify(parsed);
        }
        response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain' });
        response.end(body);
      })().catch((error: unknown) => {
        response.writeHead(500);
        response.end(String(error));
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    records = await startService('records', (config) =>
      RecordsModule.forRoot(config, {
        EVENT_SIGNING_KEY: seed.toString('base64'),
        PUBLIC_EVENTS_TOPIC: eventsTopic,
        LEDGER_URL: proxyUrl,
        LEDGER_VERIFIER_KEYS: ledger.verifierKey,
        LEDGER_ORIGIN: ledger.origin,
        RECORDS_MASTER_KEY: randomBytes(32).toString('base64'),
        KEYS_DIR: `.data/test-keys/${uniqueSuffix()}`,
        ...auth.env,
      }),
    );
    bearer = await auth.headers('Practitioner/dr-backbone', 'practitioner');
    recorder = await recordTopics([eventsTopic, LEDGER_BLOCKS_TOPIC, `${LEDGER_BLOCKS_TOPIC}.dlq`]);
    producer = await testProducer();
  }, 120_000);

  afterAll(async () => {
    await Promise.all([recorder?.stop(), producer?.disconnect()]);
    await records?.close();
    await ledger?.stop();
    proxy?.closeAllConnections();
    if (proxy) await new Promise((resolve) => proxy.close(resolve));
  });

  async function register(
    resource: object = alice,
  ): Promise<{ id: string; eventId: string; body: Record<string, unknown> }> {
    const response = await http('/fhir/Patient', fhir('POST', resource));
    const body = (await response.json()) as Record<string, unknown>;
    expect(response.status).toBe(201);
    return { id: body['id'] as string, eventId: response.headers.get('x-medledger-event-id') as string, body };
  }

  it('registers a patient: versioned FHIR resource back, data encrypted at rest, a signed PHI-free public event', async () => {
    const { id, eventId, body } = await register();
    expect(body).toMatchObject({ resourceType: 'Patient', id, meta: { versionId: '1' }, birthDate: '1980-02-29' });
    const read = await asPatient(id, `/fhir/Patient/${id}`);
    expect(read.headers.get('etag')).toBe('W/"1"');
    expect(await read.json()).toMatchObject({ name: [{ family: 'Zweistein' }] });

    const prisma = records.app.get<Sql>(PRISMA);
    const [row] = await prisma.$queryRawUnsafe<Array<{ data: string }>>(
      'SELECT data::text AS data FROM es_event WHERE event_id = $1::uuid',
      eventId,
    );
    expect(row?.data).toContain('A256GCM');
    expect(row?.data).not.toContain('Zweistein');

    const message = await eventually(async () =>
      recorder.messages.find((m) => (jsonOf(m.message.value) as { id?: string } | undefined)?.id === eventId),
    );
    const published = jsonOf(message.message.value) as Record<string, unknown>;
    // The patient by their pseudonym (ADR 0013): the Kafka key, subject, aggregate and data agree, and name no id.
    const pseudonym = message.message.key?.toString() ?? '';
    expect(pseudonym).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(published).toMatchObject({
      type: 'records.PatientRegistered',
      source: '/medledger/records',
      dataschema: 'urn:medledger:event:records.PatientRegistered:2',
      subject: pseudonym,
      aggregateid: pseudonym,
      aggregateversion: 1,
      data: { patient: pseudonym, versionId: '1' },
    });
    expect(message.message.value?.toString()).not.toContain(id);
    expect(new OriginVerifier([recordsKey]).verify(published, 'records')).toEqual({ ok: true, producer: 'records' });
    const text = message.message.value?.toString() ?? '';
    for (const phi of ['Zweistein', 'Alice', '1980-02-29']) expect(text).not.toContain(phi);
  });

  it('returns a receipt verified against the pinned ledger key, and refuses a forged one', async () => {
    const { eventId } = await register({ ...alice, birthDate: '1990-01-01' });
    const receipt = await eventually(
      async () => {
        const response = await http(`/v1/events/${eventId}/receipt`);
        return response.status === 200 ? ((await response.json()) as Record<string, unknown>) : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(receipt).toMatchObject({
      eventId,
      event: { id: eventId, type: 'records.PatientRegistered' },
      verified: { checkpointSignature: true, blockSignature: true, leafMatchesEvent: true, inclusion: true },
    });
    expect(receipt['checkpoint']).toMatch(/^medledger\.test\/ledger\n\d+\n/);

    for (const [mode, code] of [
      ['proof', 'RECEIPT.BAD_PROOF'],
      ['checkpoint-signature', 'RECEIPT.BAD_CHECKPOINT'],
      ['leaf', 'RECEIPT.LEAF_MISMATCH'],
    ] as const) {
      tamper = mode;
      const response = await http(`/v1/events/${eventId}/receipt`);
      tamper = 'none';
      expect(response.status).toBe(502);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(await response.json()).toMatchObject({ code });
    }
    expect((await http(`/v1/events/${randomUUID()}/receipt`)).status).toBe(404);
  });

  it('lets exactly one of concurrent updates of one patient win; the others conflict', async () => {
    const { id } = await register();
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, n) =>
        asPatient(
          id,
          `/fhir/Patient/${id}`,
          fhir('PUT', { ...alice, gender: n % 2 ? 'female' : 'other' }, { 'if-match': 'W/"1"' }),
        ),
      ),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.every((s) => s === 200 || s === 409 || s === 412)).toBe(true);
    const conflicts = await Promise.all(responses.filter((r) => r.status === 409).map((r) => r.json()));
    for (const problem of conflicts) expect(problem).toMatchObject({ code: 'EVENT_STORE.VERSION_CONFLICT' });
    expect((await asPatient(id, `/fhir/Patient/${id}`)).headers.get('etag')).toBe('W/"2"');
    const stale = await asPatient(id, `/fhir/Patient/${id}`, fhir('PUT', alice, { 'if-match': 'W/"1"' }));
    expect(stale.status).toBe(412);
  });

  it('serialises two appends racing on one stream: the second gets VERSION_CONFLICT', async () => {
    const store = records.app.get<EventStore<Sql>>(EVENT_STORE);
    const client = records.app.get<TransactionalSql>(EVENT_STORE_SQL);
    const streamId = `Race-${randomUUID()}`;
    const append = (delayMs: number) =>
      store.transact(client, async (tx) => {
        await store.append(tx, {
          streamId,
          streamType: 'Race',
          expectedVersion: 0,
          events: [{ eventId: randomUUID(), type: 'Started', data: {} }],
        });
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      });
    const first = append(400);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = append(0);
    const [a, b] = await Promise.allSettled([first, second]);
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    expect((b as PromiseRejectedResult).reason).toBeInstanceOf(VersionConflict);
  });

  it('applies a redelivered message once and dead-letters a malformed one with its reason', async () => {
    const metric = async () => {
      const text = await (await http('/metrics')).text();
      const line = /inbox_messages_total\{consumer="receipts",outcome="duplicate"\} (\d+)/.exec(text);
      return Number(line?.[1] ?? 0);
    };
    const before = await metric();
    // A genuine announcement (a forged one is dead-lettered before the inbox: receipts.e2e-spec), delivered twice more.
    const { eventId } = await register();
    const message = await eventually(
      async () =>
        recorder.messages.find(
          (m) =>
            m.topic === LEDGER_BLOCKS_TOPIC &&
            (jsonOf(m.message.value) as { data?: BlockSealedData } | undefined)?.data?.events.some(
              (e) => e.eventId === eventId,
            ),
        ),
      { timeoutMs: 30_000 },
    );
    const block = (jsonOf(message.message.value) as { data: BlockSealedData }).data;
    const value = message.message.value?.toString() ?? '';
    await producer.send({ topic: LEDGER_BLOCKS_TOPIC, messages: [{ value }, { value }] });
    await eventually(async () => ((await metric()) >= before + 2 ? true : undefined));
    const prisma = records.app.get<Sql>(PRISMA);
    const id = `ledger.BlockSealed/${block.height}/${block.blockHash}`;
    const rows = await prisma.$queryRawUnsafe<unknown[]>('SELECT 1 FROM es_inbox WHERE event_id = $1', id);
    expect(rows).toHaveLength(1);

    const garbage = `not json ${randomUUID()}`;
    await producer.send({ topic: LEDGER_BLOCKS_TOPIC, messages: [{ value: garbage, headers: { trace: 'x1' } }] });
    const dead = await eventually(async () =>
      recorder.messages.find(
        (m) =>
          m.topic === `${LEDGER_BLOCKS_TOPIC}.dlq` &&
          m.message.value?.toString() === garbage &&
          m.message.headers?.['dlq-service']?.toString() === 'records',
      ),
    );
    expect(dead.message.headers?.['dlq-reason-code']?.toString()).toBe('CONTRACTS.NOT_JSON');
    expect(dead.message.headers?.['trace']?.toString()).toBe('x1');
  });

  it('rebuilds the resource index from the events alone', async () => {
    await register();
    const prisma = records.app.get<Sql>(PRISMA);
    const snapshot = () =>
      prisma.$queryRawUnsafe<unknown[]>(
        'SELECT resource_type, resource_id::text, patient_id::text, stream_id, version_id, created_at, last_updated FROM resource_index ORDER BY resource_type, resource_id',
      );
    const before = await snapshot();
    expect(before.length).toBeGreaterThan(0);
    await prisma.$executeRawUnsafe('DELETE FROM resource_index');
    const admin = await auth.headers('Organization/records-ops', 'org-admin');
    const response = await http('/v1/projections/resource-index/rebuild', { method: 'POST', headers: admin });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ projection: 'resource-index' });
    expect(await snapshot()).toEqual(before);
    expect((await http('/v1/projections/nope/rebuild', { method: 'POST', headers: admin })).status).toBe(404);
  });

  it('retries a throwing handler with back-off, then dead-letters the message with the reason; never drops it', async () => {
    const topic = `test.${uniqueSuffix()}.flaky`;
    const kafka = testKafka('flaky');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic }, { topic: `${topic}.dlq` }], waitForLeaders: true });
    await admin.disconnect();
    const dlq = await recordTopics([`${topic}.dlq`]);
    const reliable = records.app.get(ReliableConsumer);
    const consumer = kafka.consumer({ groupId: `flaky-${uniqueSuffix()}`, maxWaitTimeInMs: 100 });
    const outcomes = new Map<string, ConsumeOutcome>();
    const attempts = new Map<string, number>();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async (payload) => {
        const { topic: from, partition, message } = payload;
        const context = new KafkaContext([message, partition, from, consumer, () => payload.heartbeat(), producer]);
        const outcome = await reliable.consume(message.value, context, {
          consumer: 'flaky',
          schema: z.object({ id: z.string(), failures: z.number() }),
          messageId: (value) => value.id,
          handle: async (_tx, value) => {
            const attempt = (attempts.get(value.id) ?? 0) + 1;
            attempts.set(value.id, attempt);
            if (attempt <= value.failures) throw new Error(`database says no (${attempt})`);
            return Promise.resolve();
          },
        });
        outcomes.set((jsonOf(message.value) as { id: string }).id, outcome);
      },
    });
    try {
      const [transient, permanent] = [randomUUID(), randomUUID()];
      await producer.send({
        topic,
        messages: [
          { value: JSON.stringify({ id: transient, failures: 2 }) },
          { value: JSON.stringify({ id: permanent, failures: 99 }) },
        ],
      });
      await eventually(async () => (outcomes.size === 2 ? true : undefined), { timeoutMs: 30_000 });
      expect(outcomes.get(transient)).toBe('applied');
      expect(attempts.get(transient)).toBe(3);
      expect(outcomes.get(permanent)).toBe('dead_lettered');
      expect(attempts.get(permanent)).toBe(HANDLER_MAX_ATTEMPTS);
      const dead = await eventually(async () =>
        dlq.messages.find((m) => m.message.value?.toString().includes(permanent)),
      );
      expect(dead.message.headers?.['dlq-reason-code']?.toString()).toBe('CONSUMER.HANDLER_FAILED');
      expect(dead.message.headers?.['dlq-reason']?.toString()).toContain('database says no (5)');
      const prisma = records.app.get<Sql>(PRISMA);
      const inbox = await prisma.$queryRawUnsafe<Array<{ event_id: string }>>(
        "SELECT event_id FROM es_inbox WHERE consumer = 'flaky'",
      );
      expect(inbox.map((row) => row.event_id)).toEqual([transient]);
    } finally {
      await consumer.disconnect();
      await dlq.stop();
    }
  }, 60_000);

  /** A connection to records' PostgreSQL server (its `postgres` database), to act on records' own database. */
  async function serverAdmin(): Promise<Client> {
    const server = new URL(records.database.url);
    server.pathname = '/postgres';
    const client = new Client({ connectionString: server.toString() });
    await client.connect();
    return client;
  }

  it('waits for its own database instead of dead-lettering: a message met while the database refuses is applied once it is back', async () => {
    const topic = `test.${uniqueSuffix()}.away`;
    const kafka = testKafka('away');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic }, { topic: `${topic}.dlq` }], waitForLeaders: true });
    await admin.disconnect();
    const dlq = await recordTopics([`${topic}.dlq`]);
    const reliable = records.app.get(ReliableConsumer);
    const consumer = kafka.consumer({ groupId: `away-${uniqueSuffix()}`, maxWaitTimeInMs: 100 });
    const outcomes = new Map<string, ConsumeOutcome>();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async (payload) => {
        const { topic: from, partition, message } = payload;
        const context = new KafkaContext([message, partition, from, consumer, () => payload.heartbeat(), producer]);
        const outcome = await reliable.consume(message.value, context, {
          consumer: 'away',
          schema: z.object({ id: z.string() }),
          messageId: (value) => value.id,
          handle: () => Promise.resolve(),
        });
        outcomes.set((jsonOf(message.value) as { id: string }).id, outcome);
      },
    });
    // The service's database refuses every connection (as in a restart of PostgreSQL), longer than the handler's
    // five attempts take (1.5 s of back-off), then comes back.
    const dba = await serverAdmin();
    const refuse = async (refused: boolean) => {
      await dba.query(`ALTER DATABASE "${records.database.name}" ALLOW_CONNECTIONS ${refused ? 'false' : 'true'}`);
      if (refused)
        await dba.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [
          records.database.name,
        ]);
    };
    const id = randomUUID();
    try {
      await refuse(true);
      await producer.send({ topic, messages: [{ value: JSON.stringify({ id }) }] });
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      expect(outcomes.has(id)).toBe(false);
      await refuse(false);
      await eventually(async () => (outcomes.has(id) ? true : undefined), { timeoutMs: 30_000 });
      expect(outcomes.get(id)).toBe('applied');
      expect(dlq.messages.filter((m) => m.message.value?.toString().includes(id))).toEqual([]);
      await eventually(async () => ((await http('/health')).ok ? true : undefined), { timeoutMs: 30_000 });
    } finally {
      await refuse(false);
      await dba.end();
      await consumer.disconnect();
      await dlq.stop();
    }
  }, 90_000);

  it('outlives its connection cut inside a transaction (57P01): the transaction fails, the service stays up', async () => {
    const sql = records.app.get<TransactionalSql>(EVENT_STORE_SQL);
    const dba = await serverAdmin();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let pid = 0;
    try {
      // The outbox relay holds its transaction while Kafka acknowledges: a restart of PostgreSQL then ends the
      // connection between two statements.
      const transaction = sql.$transaction(async (tx) => {
        const [row] = await tx.$queryRawUnsafe<Array<{ pid: number }>>('SELECT pg_backend_pid() AS pid');
        pid = row?.pid ?? -1;
        await held;
        await tx.$queryRawUnsafe('SELECT 1');
      });
      await eventually(async () => (pid !== 0 ? true : undefined));
      await dba.query('SELECT pg_terminate_backend($1)', [pid]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      release();
      await expect(transaction).rejects.toThrow();
      expect((await http('/health')).status).toBe(200);
    } finally {
      release();
      await dba.end();
    }
  });

  it('serves history and versions, and proves an old version is the one anchored without showing it', async () => {
    const { id } = await register();
    const updated = await asPatient(
      id,
      `/fhir/Patient/${id}`,
      fhir('PUT', { ...alice, gender: 'female' }, { 'if-match': 'W/"1"' }),
    );
    expect(updated.status).toBe(200);

    const history = (await (await asPatient(id, `/fhir/Patient/${id}/_history`)).json()) as {
      type: string;
      total: number;
      entry: Array<{ resource: { meta: { versionId: string }; gender?: string } }>;
    };
    expect(history).toMatchObject({ type: 'history', total: 2 });
    expect(history.entry.map((e) => e.resource.meta.versionId)).toEqual(['2', '1']);
    const v1 = await asPatient(id, `/fhir/Patient/${id}/_history/1`);
    expect(v1.status).toBe(200);
    expect(await v1.json()).not.toHaveProperty('gender');
    expect((await asPatient(id, `/fhir/Patient/${id}/_history/3`)).status).toBe(404);

    const proof = await eventually(
      async () => {
        const response = await asPatient(id, `/fhir/Patient/${id}/_history/1/$verify`);
        return response.status === 200 ? ((await response.json()) as Record<string, unknown>) : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(proof).toMatchObject({ versionId: '1', matchesStored: true, matchesSealed: true });
    expect(JSON.stringify(proof)).not.toContain('Zweistein');
    expect((proof['receipt'] as { verified: Record<string, boolean> }).verified).toMatchObject({ inclusion: true });
  });
});

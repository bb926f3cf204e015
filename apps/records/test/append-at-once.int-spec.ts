import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createEnvelope, PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import { EventStore, PgSql, VersionConflict, type NewStream, type Projection, type Sql } from '@medledger/event-store';
import { createServiceDatabase, type TestDatabase } from '@medledger/testing';
import { patientPseudonyms } from '../src/resources/domain/pseudonym';
import { auditLogProjection } from '../src/resources/infra/projections';

/**
 * EventStore.appendNewAtOnce on real PostgreSQL with the records schema: new streams, their events, the outbox
 * and a projection in one statement (the audit trail's group commit), all or nothing.
 */
describe('EventStore.appendNewAtOnce', () => {
  let database: TestDatabase;
  let sql: PgSql;
  let store: EventStore<Sql>;
  let woken = 0;

  beforeAll(async () => {
    database = await createServiceDatabase('records');
    sql = new PgSql(database.url, 2);
    store = new EventStore<Sql>(undefined, [auditLogProjection]);
    store.onOutboxCommitted(() => void woken++);
  });

  afterAll(async () => {
    await sql?.end();
    await database?.drop();
  });

  const count = async (table: string) =>
    Number((await sql.$queryRawUnsafe<Array<{ n: bigint }>>(`SELECT count(*) AS n FROM ${table}`))[0]?.n);

  const pseudonymKey = randomBytes(32);
  function audit(patientId: string) {
    const auditEventId = randomUUID();
    const eventId = randomUUID();
    const entry = {
      auditEventId,
      patientId,
      actor: 'Practitioner/p1',
      role: 'practitioner',
      interaction: 'read',
      outcome: '0',
      basis: 'consent',
      resourceType: 'Observation',
      resourceId: randomUUID(),
      recorded: new Date().toISOString(),
    };
    const stream: NewStream = {
      streamId: `Patient-${patientId}/AuditEvent-${auditEventId}`,
      streamType: 'AuditEvent',
      event: { type: 'AccessAudited', data: { entry }, eventId, metadata: { entry } },
    };
    const { patientId: _patientId, resourceId, actor, ...published } = entry;
    const pseudonyms = patientPseudonyms(pseudonymKey, patientId);
    const envelope = createEnvelope({
      type: 'records.AccessAudited',
      id: eventId,
      time: entry.recorded,
      subject: pseudonyms.patient,
      aggregateId: auditEventId,
      aggregateVersion: 1,
      data: {
        ...published,
        patient: pseudonyms.patient,
        actor: pseudonyms.actor(actor),
        resource: pseudonyms.resource(entry.resourceType, resourceId),
        commitment: createHash('sha256').update(auditEventId).digest('base64'),
      },
    });
    return { stream, message: { topic: PUBLIC_EVENT_TOPICS.records, key: pseudonyms.patient, envelope } };
  }

  it('writes streams, events, outbox rows and the projection in one statement, and wakes the relay', async () => {
    const patientId = randomUUID();
    const group = [audit(patientId), audit(patientId), audit(patientId)];
    const before = woken;

    const stored = await store.appendNewAtOnce(
      sql,
      group.map((g) => g.stream),
      group.map((g) => g.message),
    );

    expect(stored.map((s) => s.eventId)).toEqual(group.map((g) => g.stream.event.eventId));
    expect(new Set(stored.map((s) => s.position)).size).toBe(3);
    expect(stored.every((s) => s.version === 1 && s.recordedAt instanceof Date)).toBe(true);
    expect(woken).toBe(before + 1);
    const logged = await sql.$queryRawUnsafe<Array<{ event_id: string; patient_id: string }>>(
      'SELECT event_id::text, patient_id::text FROM audit_log WHERE patient_id = $1::uuid ORDER BY recorded',
      patientId,
    );
    expect(logged.map((row) => row.event_id).sort()).toEqual(group.map((g) => g.stream.event.eventId).sort());
    const outbox = await sql.$queryRawUnsafe<Array<{ event_id: string }>>(
      'SELECT event_id FROM es_outbox WHERE event_id = ANY($1::text[]) ORDER BY position',
      group.map((g) => g.message.envelope.id),
    );
    expect(outbox.map((row) => row.event_id)).toEqual(group.map((g) => g.message.envelope.id));
    const loaded = await store.load(sql, group[0]?.stream.streamId as string);
    expect(loaded.events.map((e) => e.data)).toEqual([group[0]?.stream.event.data]);
  });

  it('keeps nothing of a group whose stream exists already: VersionConflict naming it', async () => {
    const patientId = randomUUID();
    const taken = audit(patientId);
    await store.appendNewAtOnce(sql, [taken.stream], [taken.message]);
    const counts = await Promise.all(['es_stream', 'es_event', 'es_outbox', 'audit_log'].map(count));

    const fresh = audit(patientId);
    const again = { ...taken.stream, event: { ...taken.stream.event, eventId: randomUUID() } };
    const error = await store.appendNewAtOnce(sql, [fresh.stream, again], [fresh.message]).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(VersionConflict);
    expect((error as VersionConflict).streamId).toBe(taken.stream.streamId);
    expect(await Promise.all(['es_stream', 'es_event', 'es_outbox', 'audit_log'].map(count))).toEqual(counts);
  });

  it('runs in a transaction when a projection has no single statement for new streams', async () => {
    const applied: string[] = [];
    const plain: Projection<Sql> = {
      name: 'plain',
      streamTypes: ['AuditEvent'],
      apply: (_tx, event) => Promise.resolve(void applied.push(event.eventId)),
      reset: () => Promise.resolve(),
    };
    const other = new EventStore<Sql>(undefined, [plain]);
    const one = audit(randomUUID());

    const [stored] = await other.appendNewAtOnce(sql, [one.stream], [one.message]);

    expect(stored?.eventId).toBe(one.stream.event.eventId);
    expect(applied).toEqual([one.stream.event.eventId]);
  });
});

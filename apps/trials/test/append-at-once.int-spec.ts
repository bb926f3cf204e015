import { randomUUID } from 'node:crypto';
import { createEnvelope, PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import { EventStore, PgSql, VersionConflict, type OutboxMessage, type Sql } from '@medledger/event-store';
import { createServiceDatabase, type TestDatabase } from '@medledger/testing';

/**
 * EventStore.appendAtOnce on real PostgreSQL with the trials schema: a command that read its stream outside a
 * transaction appends its events and their public events in one statement, only if the stream has not moved.
 */
describe('EventStore.appendAtOnce', () => {
  let database: TestDatabase;
  let sql: PgSql;
  const store = new EventStore<Sql>();
  let woken = 0;
  store.onOutboxCommitted(() => void woken++);

  beforeAll(async () => {
    database = await createServiceDatabase('trials');
    sql = new PgSql(database.url, 2);
  });

  afterAll(async () => {
    await sql?.end();
    await database?.drop();
  });

  const count = async (table: string, streamOrKey: string) =>
    Number(
      (
        await sql.$queryRawUnsafe<Array<{ n: bigint }>>(
          table === 'es_event'
            ? 'SELECT count(*) AS n FROM es_event WHERE stream_id = $1'
            : 'SELECT count(*) AS n FROM es_outbox WHERE key = $1',
          streamOrKey,
        )
      )[0]?.n,
    );

  const visit = (trialId: string, visitId: string) => ({
    eventId: randomUUID(),
    type: 'VisitRecorded',
    data: { trialId, participantId: 'P-1', visitId, outcome: 'completed', at: new Date().toISOString() },
  });
  const publish =
    (trialId: string) =>
    (events: ReadonlyArray<{ eventId: string; version: number; data: Record<string, unknown> }>): OutboxMessage[] =>
      events.map((event) => ({
        topic: PUBLIC_EVENT_TOPICS.trials,
        key: trialId,
        envelope: createEnvelope({
          type: 'trials.VisitRecorded',
          id: event.eventId,
          time: String(event.data['at']),
          aggregateId: `Trial-${trialId}/Participant-P-1`,
          aggregateVersion: event.version,
          data: {
            ...event.data,
            commitment: 'c2FsdGVkLWNvbW1pdG1lbnQtb2YtYS12aXNpdC0wMDA=',
            recordedAt: event.data['at'],
          },
        }),
      }));

  it('appends and enqueues at the expected version, and refuses a stale one leaving nothing behind', async () => {
    const trialId = randomUUID();
    const streamId = `Trial-${trialId}/Participant-P-1`;
    await store.transact(sql, (tx) =>
      store.append(tx, { streamId, streamType: 'Participant', expectedVersion: 0, events: [visit(trialId, 'V0')] }),
    );
    const before = woken;
    const stored = await store.appendAtOnce(
      sql,
      { streamId, streamType: 'Participant', expectedVersion: 1, events: [visit(trialId, 'V1'), visit(trialId, 'V2')] },
      publish(trialId),
    );
    expect(stored.map((event) => event.version)).toEqual([2, 3]);
    expect(stored[0]?.position).toBeLessThan(stored[1]?.position as bigint);
    expect([await count('es_event', streamId), await count('es_outbox', trialId)]).toEqual([3, 2]);
    expect(woken).toBe(before + 1);

    // Another writer read version 1 too: its append is refused, and neither its events nor its outbox rows stay.
    await expect(
      store.appendAtOnce(
        sql,
        { streamId, streamType: 'Participant', expectedVersion: 1, events: [visit(trialId, 'V3')] },
        publish(trialId),
      ),
    ).rejects.toBeInstanceOf(VersionConflict);
    expect([await count('es_event', streamId), await count('es_outbox', trialId)]).toEqual([3, 2]);
  });
});

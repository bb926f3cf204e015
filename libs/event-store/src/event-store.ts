import type { UnsignedEnvelope } from '@medledger/contracts';
import { ErasedEventData, EventStoreError, VersionConflict } from './errors';
import type { Sql, TransactionalSql } from './sql';
import { ProblemException } from '@medledger/platform';

/** A domain event as the service's domain code produces it. */
export interface DomainEvent {
  type: string;
  data: Record<string, unknown>;
}

/** A domain event as stored in a stream. */
export interface StoredEvent<E extends DomainEvent = DomainEvent> {
  position: bigint;
  eventId: string;
  streamId: string;
  streamType: string;
  version: number;
  type: E['type'];
  data: E['data'];
  metadata: Record<string, unknown>;
  recordedAt: Date;
}

/** A public event for the outbox ({@link EventStore.enqueue}), written in the append's transaction. */
export interface OutboxMessage {
  topic: string;
  /** Kafka key: the aggregate id, so each aggregate stays in order on one partition. */
  key: string;
  envelope: UnsignedEnvelope;
}

/** One event that starts a new stream ({@link EventStore.appendNew}). */
export interface NewStream<E extends DomainEvent = DomainEvent> {
  streamId: string;
  streamType: string;
  event: E & { eventId: string; metadata?: Record<string, unknown> };
}

export interface AppendRequest<E extends DomainEvent = DomainEvent> {
  streamId: string;
  /** The aggregate's kind (`Patient`); projections subscribe by it. */
  streamType: string;
  /** The version the caller decided on: 0 when the stream must not exist yet. */
  expectedVersion: number;
  events: ReadonlyArray<E & { eventId: string; metadata?: Record<string, unknown> }>;
}

/**
 * How event data is stored: the identity for events without PHI; a service whose internal events hold PHI
 * supplies one that encrypts (records: AES-256-GCM under a per-patient key). It runs inside the transaction.
 */
export interface EventCodec<Tx extends Sql = Sql> {
  encode(tx: Tx, streamId: string, data: Record<string, unknown>): Promise<unknown>;
  decode(tx: Tx, streamId: string, stored: unknown): Promise<Record<string, unknown>>;
}

export const PLAIN_CODEC: EventCodec<Sql> = {
  encode: (_tx, _stream, data) => Promise.resolve(data),
  decode: (_tx, _stream, stored) => Promise.resolve(stored as Record<string, unknown>),
};

/** A read model kept in step with the events: updated in the append's transaction, rebuildable from events. */
export interface Projection<Tx extends Sql = Sql> {
  name: string;
  streamTypes: readonly string[];
  apply(tx: Tx, event: StoredEvent): Promise<void>;
  /**
   * Optional: the one statement that applies several events of new streams at once ({@link EventStore.appendNew},
   * {@link EventStore.appendNewAtOnce}), parameters `$1`…`$n` (no other `$` in its text: the store renumbers them
   * when it embeds the statement in a larger one). Such a projection does without the events' log positions.
   */
  newStreamsSql?(events: ReadonlyArray<NewStreamEvent>): ProjectionSql;
  /**
   * Optional, for a projection that cannot be one statement known in advance (it reads keys first): applies the
   * events of several new streams ({@link EventStore.appendNew}) in as few round trips as it can.
   */
  applyNew?(tx: Tx, events: readonly StoredEvent[]): Promise<void>;
  /** Deletes everything the projection holds (before a rebuild). */
  reset(tx: Tx): Promise<void>;
}

/** An event of a new stream as {@link Projection.newStreamsSql} sees it: everything but its place in the log. */
export type NewStreamEvent = Omit<StoredEvent, 'position' | 'recordedAt'>;

/** One parameterised SQL statement. */
export interface ProjectionSql {
  text: string;
  values: unknown[];
}

/** `text` with `$1`…`$n` renumbered from `$offset+1`. */
function shiftParameters(text: string, offset: number): string {
  return text.replace(/\$(\d+)/g, (_match, n: string) => `$${Number(n) + offset}`);
}

export interface LoadedStream<E extends DomainEvent = DomainEvent> {
  streamId: string;
  /** 0 when the stream does not exist. */
  version: number;
  events: Array<StoredEvent<E>>;
}

/** Events replayed per query during a rebuild. */
const REBUILD_PAGE_SIZE = 500;
/** A rebuild runs in one transaction so readers never see a half-built model; it may take a while. */
const REBUILD_TIMEOUT_MS = 10 * 60_000;
/** Interactive transactions of commands: Prisma's default (5 s) is short for a loaded machine. */
export const COMMAND_TIMEOUT_MS = 15_000;

/**
 * The columns of a stored event (es_event aliased `e`), for a service query that loads events together with rows
 * of its own in one round trip; {@link EventStore.decode} turns each row into a {@link StoredEvent}. The stream type
 * comes by a primary-key lookup per row, not a join: with a prepared statement's generic plan, a join hashed the
 * whole es_stream table on every load (O(streams) per request; docs/perf.md, records).
 */
export const EVENT_COLUMNS = `e.position, e.event_id::text AS event_id, e.stream_id,
  (SELECT s.stream_type FROM es_stream s WHERE s.stream_id = e.stream_id) AS stream_type, e.version, e.type,
  e.data, e.metadata, e.recorded_at`;

/** A row with the {@link EVENT_COLUMNS}. */
export interface EventRow {
  position: bigint;
  event_id: string;
  stream_id: string;
  stream_type: string;
  version: number;
  type: string;
  data: unknown;
  metadata: unknown;
  recorded_at: Date;
}

const SELECT_EVENT = `SELECT ${EVENT_COLUMNS} FROM es_event e`;

/** The first event of each new stream, before it has a place in the log. */
function firstEvents(streams: ReadonlyArray<NewStream>): NewStreamEvent[] {
  return streams.map(({ streamId, streamType, event }) => ({
    eventId: event.eventId,
    streamId,
    streamType,
    version: 1,
    type: event.type,
    data: event.data,
    metadata: event.metadata ?? {},
  }));
}

/** Those events with the positions and times the insert returned for them. */
function placed<E extends DomainEvent>(
  events: readonly NewStreamEvent[],
  rows: ReadonlyArray<{ event_id: string; position: bigint; recorded_at: Date }>,
): Array<StoredEvent<E>> {
  const byId = new Map(rows.map((row) => [row.event_id, row]));
  return events.map((event) => {
    const row = byId.get(event.eventId) as { position: bigint; recorded_at: Date };
    return { ...event, position: BigInt(row.position), recordedAt: row.recorded_at };
  });
}

/** The unique constraints a new stream whose id is taken violates (prisma/event-store.prisma). */
const STREAM_TAKEN = new Set(['es_stream_pkey', 'es_event_stream_id_version_key']);

/**
 * The service's event store: aggregate streams with optimistic concurrency, projections in the same
 * transaction, and the transactional outbox. `Tx` is the service's Prisma transaction client.
 */
export class EventStore<Tx extends Sql = Sql> {
  private readonly projections = new Map<string, Projection<Tx>>();
  private readonly committedListeners: Array<() => void> = [];

  constructor(
    private readonly codec: EventCodec<Tx> = PLAIN_CODEC,
    projections: ReadonlyArray<Projection<Tx>> = [],
  ) {
    for (const projection of projections) this.projections.set(projection.name, projection);
  }

  /** Called after each transaction of {@link transact} has committed (wakes the relay). */
  onOutboxCommitted(listener: () => void): void {
    this.committedListeners.push(listener);
  }

  /**
   * Runs a command in one transaction: load, decide, append. The outbox relay is woken once it commits.
   * A {@link VersionConflict} thrown inside rolls everything back. `timeoutMs`: for a command known to be large (a
   * records transaction Bundle of thousands of resources); COMMAND_TIMEOUT_MS otherwise.
   */
  async transact<R>(
    client: TransactionalSql,
    fn: (tx: Tx) => Promise<R>,
    options: { timeoutMs?: number } = {},
  ): Promise<R> {
    const result = await client.$transaction((tx) => fn(tx as Tx), {
      timeout: options.timeoutMs ?? COMMAND_TIMEOUT_MS,
    });
    for (const listener of this.committedListeners) listener();
    return result;
  }

  async load<E extends DomainEvent>(tx: Tx, streamId: string): Promise<LoadedStream<E>> {
    const rows = await tx.$queryRawUnsafe<EventRow[]>(
      `${SELECT_EVENT} WHERE e.stream_id = $1 ORDER BY e.version`,
      streamId,
    );
    const events: Array<StoredEvent<E>> = [];
    for (const row of rows) events.push((await this.toStored(tx, row)) as StoredEvent<E>);
    return { streamId, version: events.at(-1)?.version ?? 0, events };
  }

  /**
   * The events of a stream after `version`, folded onto a state the caller already had at that version (a cached
   * aggregate): one query that returns nothing when the stream has not moved. `version` is what the next append
   * must expect, as with {@link aggregate}.
   */
  async aggregateFrom<S, E extends DomainEvent>(
    tx: Tx,
    streamId: string,
    base: { state: S; version: number },
    evolve: (state: S, event: StoredEvent<E>) => S,
  ): Promise<{ state: S; version: number }> {
    const rows = await tx.$queryRawUnsafe<EventRow[]>(
      `${SELECT_EVENT} WHERE e.stream_id = $1 AND e.version > $2 ORDER BY e.version`,
      streamId,
      base.version,
    );
    let { state, version } = base;
    for (const row of rows) {
      const event = (await this.toStored(tx, row)) as StoredEvent<E>;
      state = evolve(state, event);
      version = event.version;
    }
    return { state, version };
  }

  /** Several streams in one query, in the order asked (a stream that does not exist comes back empty). */
  async loadMany<E extends DomainEvent>(tx: Tx, streamIds: readonly string[]): Promise<Array<LoadedStream<E>>> {
    if (streamIds.length === 0) return [];
    const rows = await tx.$queryRawUnsafe<EventRow[]>(
      `${SELECT_EVENT} WHERE e.stream_id = ANY($1::text[]) ORDER BY e.stream_id, e.version`,
      streamIds,
    );
    const byStream = new Map<string, Array<StoredEvent<E>>>();
    for (const row of rows) {
      const events = byStream.get(row.stream_id) ?? [];
      events.push((await this.toStored(tx, row)) as StoredEvent<E>);
      byStream.set(row.stream_id, events);
    }
    return streamIds.map((streamId) => {
      const events = byStream.get(streamId) ?? [];
      return { streamId, version: events.at(-1)?.version ?? 0, events };
    });
  }

  /** Folds a stream with a pure `evolve`; `version` is what the next append must expect. */
  async aggregate<S, E extends DomainEvent>(
    tx: Tx,
    streamId: string,
    initial: S,
    evolve: (state: S, event: StoredEvent<E>) => S,
  ): Promise<{ state: S; version: number }> {
    const stream = await this.load<E>(tx, streamId);
    return { state: stream.events.reduce(evolve, initial), version: stream.version };
  }

  /**
   * Appends events to a stream if it is still at `expectedVersion` and updates the projections, all in `tx`.
   * Concurrent appends to one stream serialise on its row: the loser gets a {@link VersionConflict} (409), never a
   * lost update.
   */
  async append<E extends DomainEvent>(tx: Tx, request: AppendRequest<E>): Promise<Array<StoredEvent<E>>> {
    const { streamId, streamType, expectedVersion, events } = request;
    const newVersion = expectedVersion + events.length;
    const claimed =
      expectedVersion === 0
        ? await tx.$executeRawUnsafe(
            `INSERT INTO es_stream (stream_id, stream_type, version, updated_at) VALUES ($1, $2, $3, now())
             ON CONFLICT (stream_id) DO NOTHING`,
            streamId,
            streamType,
            newVersion,
          )
        : await tx.$executeRawUnsafe(
            `UPDATE es_stream SET version = $3, updated_at = now() WHERE stream_id = $1 AND version = $2`,
            streamId,
            expectedVersion,
            newVersion,
          );
    if (claimed !== 1) {
      const current = await tx.$queryRawUnsafe<Array<{ version: number }>>(
        'SELECT version FROM es_stream WHERE stream_id = $1',
        streamId,
      );
      throw new VersionConflict(streamId, expectedVersion, current[0]?.version ?? 0);
    }

    // All the events in one statement (a command appends several: a fact and what it entails): one round trip.
    const data: string[] = [];
    for (const event of events) data.push(JSON.stringify(await this.codec.encode(tx, streamId, event.data)));
    const rows = await tx.$queryRawUnsafe<Array<{ version: number; position: bigint; recorded_at: Date }>>(
      `INSERT INTO es_event (event_id, stream_id, version, type, data, metadata, recorded_at)
       SELECT x.id, $1, $2::int + x.n::int, x.type, x.data::jsonb, x.metadata::jsonb, now()
         FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS x(id, type, data, metadata, n)
        ORDER BY x.n
       RETURNING version, position, recorded_at`,
      streamId,
      expectedVersion,
      events.map((event) => event.eventId),
      events.map((event) => event.type),
      data,
      events.map((event) => JSON.stringify(event.metadata ?? {})),
    );
    const byVersion = new Map(rows.map((row) => [Number(row.version), row]));
    const stored: Array<StoredEvent<E>> = events.map((event, offset) => {
      const version = expectedVersion + offset + 1;
      const row = byVersion.get(version) as { position: bigint; recorded_at: Date };
      return {
        position: BigInt(row.position),
        eventId: event.eventId,
        streamId,
        streamType,
        version,
        type: event.type,
        data: event.data,
        metadata: event.metadata ?? {},
        recordedAt: row.recorded_at,
      };
    });

    for (const projection of this.projections.values()) {
      if (!projection.streamTypes.includes(streamType)) continue;
      for (const event of stored) await projection.apply(tx, event);
    }
    return stored;
  }

  /**
   * Starts many streams, one event each, in a few statements whatever their number (a service that records many
   * small facts, such as an audit trail, commits them in groups). Any stream that exists already: VersionConflict,
   * and nothing of the call is kept (the transaction rolls back).
   */
  async appendNew<E extends DomainEvent>(tx: Tx, streams: ReadonlyArray<NewStream<E>>): Promise<Array<StoredEvent<E>>> {
    if (streams.length === 0) return [];
    const claimed = await tx.$queryRawUnsafe<Array<{ stream_id: string }>>(
      `INSERT INTO es_stream (stream_id, stream_type, version, updated_at)
       SELECT s.id, s.type, 1, now() FROM unnest($1::text[], $2::text[]) AS s(id, type)
       ON CONFLICT (stream_id) DO NOTHING RETURNING stream_id`,
      streams.map((s) => s.streamId),
      streams.map((s) => s.streamType),
    );
    if (claimed.length !== streams.length) {
      const taken = new Set(claimed.map((row) => row.stream_id));
      const existing = streams.find((s) => !taken.has(s.streamId)) as NewStream<E>;
      throw new VersionConflict(existing.streamId, 0, 1);
    }
    const data: string[] = [];
    for (const { streamId, event } of streams)
      data.push(JSON.stringify(await this.codec.encode(tx, streamId, event.data)));
    const rows = await tx.$queryRawUnsafe<Array<{ event_id: string; position: bigint; recorded_at: Date }>>(
      `INSERT INTO es_event (event_id, stream_id, version, type, data, metadata, recorded_at)
       SELECT e.id, e.stream, 1, e.type, e.data::jsonb, e.metadata::jsonb, now()
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
              AS e(id, stream, type, data, metadata, n)
        ORDER BY e.n
       RETURNING event_id::text, position, recorded_at`,
      streams.map((s) => s.event.eventId),
      streams.map((s) => s.streamId),
      streams.map((s) => s.event.type),
      data,
      streams.map((s) => JSON.stringify(s.event.metadata ?? {})),
    );
    const stored = placed<E>(firstEvents(streams), rows);
    for (const projection of this.projections.values()) {
      const mine = stored.filter((event) => projection.streamTypes.includes(event.streamType));
      if (mine.length === 0) continue;
      if (projection.newStreamsSql) {
        const { text, values } = projection.newStreamsSql(mine);
        await tx.$executeRawUnsafe(text, ...values);
      } else if (projection.applyNew) await projection.applyNew(tx, mine);
      else for (const event of mine) await projection.apply(tx, event);
    }
    return stored;
  }

  /**
   * {@link append} to a stream that exists (`expectedVersion` ≥ 1) and {@link enqueue} of the public events made from
   * the appended ones, as ONE statement committed on its own: a command that read its aggregate outside a transaction
   * commits with one round trip, and optimistic concurrency still holds (the stream's version is checked by the same
   * statement; a stale one is a {@link VersionConflict}, nothing kept). Streams with projections take the
   * transactional path. Wakes the outbox relay like {@link transact}.
   */
  async appendAtOnce<E extends DomainEvent>(
    client: TransactionalSql,
    request: AppendRequest<E>,
    publish: (events: ReadonlyArray<Omit<StoredEvent<E>, 'position' | 'recordedAt'>>) => readonly OutboxMessage[],
  ): Promise<Array<StoredEvent<E>>> {
    const { streamId, streamType, expectedVersion, events } = request;
    const pending = events.map((event, offset) => ({
      eventId: event.eventId,
      streamId,
      streamType,
      version: expectedVersion + offset + 1,
      type: event.type,
      data: event.data,
      metadata: event.metadata ?? {},
    }));
    const messages = publish(pending);
    const projected = [...this.projections.values()].some((p) => p.streamTypes.includes(streamType));
    if (projected || expectedVersion < 1)
      return this.transact(client, async (tx) => {
        const stored = await this.append(tx, request);
        await this.enqueue(tx, messages);
        return stored;
      });
    const data: string[] = [];
    for (const event of events)
      data.push(JSON.stringify(await this.codec.encode(client as unknown as Tx, streamId, event.data)));
    const rows = await client.$queryRawUnsafe<
      Array<{ claimed: string; version: number | null; position: bigint | null; recorded_at: Date | null }>
    >(
      `WITH s AS (
          UPDATE es_stream SET version = $2::int + $3::int, updated_at = now()
           WHERE stream_id = $1 AND version = $2 RETURNING stream_id),
        e AS (
          INSERT INTO es_event (event_id, stream_id, version, type, data, metadata, recorded_at)
          SELECT x.id, $1, $2::int + x.n::int, x.type, x.data::jsonb, x.metadata::jsonb, now()
            FROM unnest($4::uuid[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS x(id, type, data, metadata, n)
           WHERE EXISTS (SELECT 1 FROM s)
           ORDER BY x.n
          RETURNING version, position, recorded_at),
        o AS (
          INSERT INTO es_outbox (event_id, topic, key, envelope, created_at)
          SELECT m.id, m.topic, m.key, m.envelope::jsonb, now()
            FROM unnest($8::text[], $9::text[], $10::text[], $11::text[]) WITH ORDINALITY AS m(id, topic, key, envelope, n)
           WHERE EXISTS (SELECT 1 FROM s)
           ORDER BY m.n)
       SELECT (SELECT count(*) FROM s)::text AS claimed, e.version, e.position, e.recorded_at
         FROM (SELECT 1) one LEFT JOIN e ON true`,
      streamId,
      expectedVersion,
      events.length,
      events.map((event) => event.eventId),
      events.map((event) => event.type),
      data,
      events.map((event) => JSON.stringify(event.metadata ?? {})),
      messages.map((m) => m.envelope.id),
      messages.map((m) => m.topic),
      messages.map((m) => m.key),
      messages.map((m) => JSON.stringify(m.envelope)),
    );
    if (rows[0]?.claimed !== '1') {
      const current = await client.$queryRawUnsafe<Array<{ version: number }>>(
        'SELECT version FROM es_stream WHERE stream_id = $1',
        streamId,
      );
      throw new VersionConflict(streamId, expectedVersion, current[0]?.version ?? 0);
    }
    for (const listener of this.committedListeners) listener();
    const byVersion = new Map(rows.map((row) => [Number(row.version), row]));
    return pending.map((event) => {
      const row = byVersion.get(event.version) as { position: bigint; recorded_at: Date };
      return { ...event, position: BigInt(row.position), recordedAt: row.recorded_at };
    });
  }

  /**
   * {@link appendNew} and {@link enqueue} of `messages` as ONE statement, committed on its own (no transaction
   * around it: a single statement is atomic), so a group of small facts (an audit trail) costs one round trip
   * instead of six. Needs every projection of these streams to have {@link Projection.newStreamsSql}; otherwise
   * it runs the same work in a transaction. A stream that exists already: {@link VersionConflict}, nothing kept.
   * Wakes the outbox relay like {@link transact}.
   */
  async appendNewAtOnce<E extends DomainEvent>(
    client: TransactionalSql,
    streams: ReadonlyArray<NewStream<E>>,
    messages: readonly OutboxMessage[],
  ): Promise<Array<StoredEvent<E>>> {
    if (streams.length === 0 && messages.length === 0) return [];
    const types = new Set(streams.map((s) => s.streamType));
    const projections = [...this.projections.values()].filter((p) => p.streamTypes.some((t) => types.has(t)));
    if (projections.some((p) => !p.newStreamsSql))
      return this.transact(client, async (tx) => {
        const stored = await this.appendNew(tx, streams);
        await this.enqueue(tx, messages);
        return stored;
      });

    const data: string[] = [];
    for (const { streamId, event } of streams)
      data.push(JSON.stringify(await this.codec.encode(client as unknown as Tx, streamId, event.data)));
    const values: unknown[] = [
      streams.map((s) => s.streamId),
      streams.map((s) => s.streamType),
      streams.map((s) => s.event.eventId),
      streams.map((s) => s.event.type),
      data,
      streams.map((s) => JSON.stringify(s.event.metadata ?? {})),
      messages.map((m) => m.envelope.id),
      messages.map((m) => m.topic),
      messages.map((m) => m.key),
      messages.map((m) => JSON.stringify(m.envelope)),
    ];
    const pending = firstEvents(streams);
    const parts = projections.map((projection, i) => {
      const mine = pending.filter((event) => projection.streamTypes.includes(event.streamType));
      if (mine.length === 0) return '';
      const { text, values: more } = (projection.newStreamsSql as NonNullable<Projection['newStreamsSql']>)(mine);
      const part = `, p${i} AS (${shiftParameters(text, values.length)})`;
      values.push(...more);
      return part;
    });
    // Stream rows first in the text, but a statement's CTEs all run before its foreign keys are checked (at its
    // end), so the order does not matter; a stream id taken already fails the whole statement (23505).
    const query = `WITH s AS (
        INSERT INTO es_stream (stream_id, stream_type, version, updated_at)
        SELECT id, type, 1, now() FROM unnest($1::text[], $2::text[]) AS x(id, type)),
      e AS (
        INSERT INTO es_event (event_id, stream_id, version, type, data, metadata, recorded_at)
        SELECT x.id, x.stream, 1, x.type, x.data::jsonb, x.metadata::jsonb, now()
          FROM unnest($3::uuid[], $1::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
               AS x(id, stream, type, data, metadata, n)
         ORDER BY x.n
        RETURNING event_id::text, position, recorded_at),
      o AS (
        INSERT INTO es_outbox (event_id, topic, key, envelope, created_at)
        SELECT m.id, m.topic, m.key, m.envelope::jsonb, now()
          FROM unnest($7::text[], $8::text[], $9::text[], $10::text[]) WITH ORDINALITY AS m(id, topic, key, envelope, n)
         ORDER BY m.n)${parts.join('')}
      SELECT event_id, position, recorded_at FROM e`;
    let rows: Array<{ event_id: string; position: bigint; recorded_at: Date }>;
    try {
      rows = await client.$queryRawUnsafe(query, ...values);
    } catch (error) {
      const taken = error as { code?: string; constraint?: string; detail?: string };
      // Whichever insert meets the existing stream first: its row in es_stream or its version 1 in es_event.
      if (taken.code === '23505' && STREAM_TAKEN.has(taken.constraint ?? '')) {
        const streamId = /\(stream_id(?:, version)?\)=\((.*?)(?:, 1)?\)/.exec(taken.detail ?? '')?.[1];
        throw new VersionConflict(streamId ?? streams[0]?.streamId ?? '', 0, 1);
      }
      throw error;
    }
    for (const listener of this.committedListeners) listener();
    return placed<E>(pending, rows);
  }

  /**
   * Writes public events to the outbox in `tx` (the append's transaction): the relay publishes them after it
   * commits, and never if it rolls back. Usually called with envelopes made from the events just appended. One
   * statement, in the order given.
   */
  async enqueue(tx: Tx, messages: readonly OutboxMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await tx.$executeRawUnsafe(
      `INSERT INTO es_outbox (event_id, topic, key, envelope, created_at)
       SELECT m.id, m.topic, m.key, m.envelope::jsonb, now()
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS m(id, topic, key, envelope, n)
        ORDER BY m.n`,
      messages.map((m) => m.envelope.id),
      messages.map((m) => m.topic),
      messages.map((m) => m.key),
      messages.map((m) => JSON.stringify(m.envelope)),
    );
  }

  /** Rebuilds a projection from the events alone, in one transaction. Returns the number of events replayed. */
  async rebuild(client: TransactionalSql, name: string): Promise<number> {
    const projection = this.projections.get(name);
    if (!projection) {
      throw new ProblemException(404, EventStoreError.UNKNOWN_PROJECTION, 'No such projection', {
        detail: `projections: ${[...this.projections.keys()].join(', ') || '(none)'}`,
      });
    }
    return client.$transaction(
      async (sql) => {
        const tx = sql as Tx;
        await projection.reset(tx);
        let after = 0n;
        let replayed = 0;
        for (;;) {
          const rows = await tx.$queryRawUnsafe<EventRow[]>(
            `${SELECT_EVENT} WHERE e.position > $1::bigint
               AND EXISTS (SELECT 1 FROM es_stream s
                            WHERE s.stream_id = e.stream_id AND s.stream_type = ANY(string_to_array($2, ',')))
             ORDER BY e.position LIMIT ${REBUILD_PAGE_SIZE}`,
            after.toString(),
            projection.streamTypes.join(','),
          );
          for (const row of rows) await projection.apply(tx, await this.toStored(tx, row, { erasable: true }));
          replayed += rows.length;
          if (rows.length < REBUILD_PAGE_SIZE) return replayed;
          after = BigInt((rows.at(-1) as EventRow).position);
        }
      },
      { timeout: REBUILD_TIMEOUT_MS },
    );
  }

  projectionNames(): string[] {
    return [...this.projections.keys()];
  }

  /** A row with the {@link EVENT_COLUMNS} as the event it stores (data decoded: decrypted, for records). */
  decode(tx: Tx, row: EventRow): Promise<StoredEvent> {
    return this.toStored(tx, row);
  }

  /** `erasable`: an event whose data was erased comes back with empty data (its metadata is kept). */
  private async toStored(tx: Tx, row: EventRow, options: { erasable?: boolean } = {}): Promise<StoredEvent> {
    let data: Record<string, unknown>;
    try {
      data = await this.codec.decode(tx, row.stream_id, row.data);
    } catch (error) {
      if (!(options.erasable && error instanceof ErasedEventData)) throw error;
      data = {};
    }
    return {
      position: BigInt(row.position),
      eventId: row.event_id,
      streamId: row.stream_id,
      streamType: row.stream_type,
      version: Number(row.version),
      type: row.type,
      data,
      metadata: row.metadata as Record<string, unknown>,
      recordedAt: row.recorded_at,
    };
  }
}

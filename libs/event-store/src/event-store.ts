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
  /** Deletes everything the projection holds (before a rebuild). */
  reset(tx: Tx): Promise<void>;
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
const COMMAND_TIMEOUT_MS = 15_000;

interface EventRow {
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

const SELECT_EVENT = `SELECT e.position, e.event_id::text AS event_id, e.stream_id, s.stream_type, e.version, e.type,
  e.data, e.metadata, e.recorded_at FROM es_event e JOIN es_stream s ON s.stream_id = e.stream_id`;

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
   * A {@link VersionConflict} thrown inside rolls everything back.
   */
  async transact<R>(client: TransactionalSql, fn: (tx: Tx) => Promise<R>): Promise<R> {
    const result = await client.$transaction((tx) => fn(tx as Tx), { timeout: COMMAND_TIMEOUT_MS });
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

    const stored: Array<StoredEvent<E>> = [];
    for (const [offset, event] of events.entries()) {
      const data = await this.codec.encode(tx, streamId, event.data);
      const metadata = event.metadata ?? {};
      const rows = await tx.$queryRawUnsafe<Array<{ position: bigint; recorded_at: Date }>>(
        `INSERT INTO es_event (event_id, stream_id, version, type, data, metadata, recorded_at)
         VALUES ($1::uuid, $2, $3, $4, $5::jsonb, $6::jsonb, now()) RETURNING position, recorded_at`,
        event.eventId,
        streamId,
        expectedVersion + offset + 1,
        event.type,
        JSON.stringify(data),
        JSON.stringify(metadata),
      );
      const row = rows[0] as { position: bigint; recorded_at: Date };
      stored.push({
        position: BigInt(row.position),
        eventId: event.eventId,
        streamId,
        streamType,
        version: expectedVersion + offset + 1,
        type: event.type,
        data: event.data,
        metadata,
        recordedAt: row.recorded_at,
      });
    }

    for (const projection of this.projections.values()) {
      if (!projection.streamTypes.includes(streamType)) continue;
      for (const event of stored) await projection.apply(tx, event);
    }
    return stored;
  }

  /**
   * Writes public events to the outbox in `tx` (the append's transaction): the relay publishes them after it
   * commits, and never if it rolls back. Usually called with envelopes made from the events just appended.
   */
  async enqueue(tx: Tx, messages: readonly OutboxMessage[]): Promise<void> {
    for (const message of messages) {
      await tx.$executeRawUnsafe(
        `INSERT INTO es_outbox (event_id, topic, key, envelope, created_at) VALUES ($1, $2, $3, $4::jsonb, now())`,
        message.envelope.id,
        message.topic,
        message.key,
        JSON.stringify(message.envelope),
      );
    }
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
            `${SELECT_EVENT} WHERE e.position > $1::bigint AND s.stream_type = ANY(string_to_array($2, ','))
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

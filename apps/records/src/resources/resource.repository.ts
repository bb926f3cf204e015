import { Inject, Injectable } from '@nestjs/common';
import {
  ErasedEventData,
  EVENT_COLUMNS,
  EVENT_STORE,
  EventStore,
  type EventRow,
  type Sql,
  type StoredEvent,
} from '@medledger/event-store';
import { ProblemException } from '@medledger/platform';
import { refuse, type OperationOutcomeException } from '../http/operation-outcome';
import { RecordsCryptoError } from './infra/patient-keys';
import { ABSENT, evolve, ResourceErrorCode, type ResourceEvent, type ResourceState } from './domain/resource';

export type PresentResource = Extract<ResourceState, { status: 'present' }>;

/** One version of a resource with the event that made it (the one anchored in the ledger). */
export interface ResourceVersion {
  state: PresentResource;
  eventId: string;
  salt: string;
  commitment: string;
}

function fold(state: ResourceState, event: StoredEvent): ResourceState {
  return evolve(state, event as unknown as ResourceEvent);
}

/** Reads resources: the resource index finds a stream, the event store folds it (decrypting under the patient key). */
@Injectable()
export class ResourceRepository {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore<Sql>) {}

  /** The record and stream of `type/id`, or 404 `RECORDS.RESOURCE_NOT_FOUND`. */
  async require(tx: Sql, resourceType: string, id: string): Promise<{ patientId: string; streamId: string }> {
    const located = await this.locate(tx, resourceType, id);
    if (!located) throw resourceNotFound(resourceType, id);
    return located;
  }

  /** The record and stream of `type/id`, from the index (no decryption). */
  async locate(
    tx: Sql,
    resourceType: string,
    id: string,
  ): Promise<{ patientId: string; streamId: string } | undefined> {
    const [row] = await tx.$queryRawUnsafe<Array<{ patient_id: string; stream_id: string }>>(
      'SELECT patient_id::text, stream_id FROM resource_index WHERE resource_type = $1 AND resource_id = $2::uuid',
      resourceType,
      id,
    );
    return row && { patientId: row.patient_id, streamId: row.stream_id };
  }

  /**
   * What a read needs, in one round trip: where `type/id` is and whose record holds it, its events, the events of
   * the patient's Consents (oldest first, decrypted: they decide) and the actor's live break-glass grants (their
   * ends). The resource's own events stay encrypted: `resource()` decrypts them only once the caller has authorized
   * what it can without them (ADR 0007, "authorize before decrypting").
   */
  async forRead(
    tx: Sql,
    resourceType: string,
    id: string,
    actor: string,
  ): Promise<
    | {
        patientId: string;
        streamId: string;
        resource: () => Promise<ResourceState>;
        consents: PresentResource[];
        grants: string[];
      }
    | undefined
  > {
    const rows = await tx.$queryRawUnsafe<
      Array<EventRow & { n: string; patient_id: string; grants: Date[]; erased: boolean }>
    >(
      `WITH ri AS (
         SELECT patient_id, stream_id FROM resource_index WHERE resource_type = $1 AND resource_id = $2::uuid
       ), chosen AS (
         SELECT stream_id, 0::bigint AS n FROM ri
         UNION ALL
         SELECT c.stream_id, row_number() OVER (ORDER BY c.created_at, c.resource_id)
           FROM ri JOIN resource_index c ON c.patient_id = ri.patient_id AND c.resource_type = 'Consent'
       ), granted AS (
         SELECT ARRAY(SELECT g.until FROM break_glass_grant g
                       WHERE g.patient_id = ri.patient_id AND g.actor = $3 AND g.until > now()) AS grants
           FROM ri
       )
       SELECT chosen.n, ri.patient_id::text, granted.grants, ${EVENT_COLUMNS},
              EXISTS (SELECT 1 FROM patient_key k WHERE k.stream_id = split_part(ri.stream_id, '/', 1)
                         AND k.destroyed_at IS NOT NULL) AS erased
         FROM ri, granted, chosen JOIN es_event e ON e.stream_id = chosen.stream_id
        ORDER BY chosen.n, e.version`,
      resourceType,
      id,
      actor,
    );
    const [first] = rows;
    if (!first) return undefined;
    // An erased record answers 410 to everyone, as decrypting it would (its key is gone).
    if (first.erased) throw new ErasedEventData(first.stream_id, RecordsCryptoError.PATIENT_ERASED);
    // Rank 0 is the resource's own stream, kept encrypted; the consents follow in their order.
    const own = rows.filter((row) => row.n === '0');
    const streams = new Map<string, StoredEvent[]>();
    for (const row of rows) {
      if (row.n === '0') continue;
      const events = streams.get(row.n) ?? [];
      events.push(await this.store.decode(tx, row));
      streams.set(row.n, events);
    }
    const consents = [...streams.values()];
    return {
      patientId: first.patient_id,
      streamId: first.stream_id,
      resource: async () => {
        const events: StoredEvent[] = [];
        for (const row of own) events.push(await this.store.decode(tx, row));
        return events.reduce(fold, ABSENT);
      },
      consents: consents.flatMap((events) => {
        const state = events.reduce(fold, ABSENT);
        return state.status === 'present' ? [state] : [];
      }),
      grants: first.grants.map((until: Date) => new Date(until).toISOString()),
    };
  }

  async current(tx: Sql, streamId: string): Promise<{ state: ResourceState; version: number }> {
    return this.store.aggregate(tx, streamId, ABSENT, fold);
  }

  async versions(tx: Sql, streamId: string): Promise<ResourceVersion[]> {
    const stream = await this.store.load<ResourceEvent>(tx, streamId);
    let state: ResourceState = ABSENT;
    return stream.events.map((event) => {
      state = fold(state, event);
      if (state.status !== 'present') throw new Error(`${streamId}: an event left no resource`);
      return { state, eventId: event.eventId, salt: event.data.salt, commitment: event.data.commitment };
    });
  }

  /**
   * The resources of `resourceType` in a patient's record that a search must decrypt, oldest first, from the clear
   * indexes alone (no decryption): those whose ids are among each of `ids` (the `_id` criteria), and whose blind
   * index row shares a token with each of `groups` (domain/blind-index.ts criteriaTokens). A resource without a
   * row at its current version (written before the index, or not indexed yet) is always a candidate: the index
   * narrows, the exact match on the decrypted resource decides.
   */
  async searchCandidates(
    tx: Sql,
    patientId: string,
    resourceType: string,
    ids: ReadonlyArray<readonly string[]>,
    groups: ReadonlyArray<readonly Buffer[]>,
  ): Promise<Array<{ streamId: string; id: string; lastUpdated: string }>> {
    const values: unknown[] = [patientId, resourceType];
    const parameter = (value: unknown) => `$${values.push(value)}`;
    const byId = ids.map((one) => `AND ri.resource_id = ANY(${parameter(one)}::uuid[])`);
    const byToken = groups.map(
      (group) =>
        `s.tokens && ARRAY(SELECT decode(h, 'hex') FROM unnest(${parameter(group.map((t) => t.toString('hex')))}::text[]) AS h)`,
    );
    const rows = await tx.$queryRawUnsafe<Array<{ stream_id: string; resource_id: string; last_updated: Date }>>(
      `SELECT ri.stream_id, ri.resource_id::text, ri.last_updated
         FROM resource_index ri
         LEFT JOIN search_index s ON s.patient_id = ri.patient_id AND s.resource_type = ri.resource_type
                                 AND s.resource_id = ri.resource_id AND s.version_id = ri.version_id
        WHERE ri.patient_id = $1::uuid AND ri.resource_type = $2 ${byId.join(' ')}
          ${byToken.length > 0 ? `AND (s.resource_id IS NULL OR (${byToken.join(' AND ')}))` : ''}
        ORDER BY ri.created_at, ri.resource_id`,
      ...values,
    );
    return rows.map((row) => ({
      streamId: row.stream_id,
      id: row.resource_id,
      lastUpdated: new Date(row.last_updated).toISOString(),
    }));
  }

  /** The current version of each of these streams (one query). */
  async currentOf(tx: Sql, streamIds: readonly string[]): Promise<PresentResource[]> {
    const found: PresentResource[] = [];
    for (const stream of await this.store.loadMany(tx, streamIds)) {
      const state = stream.events.reduce(fold, ABSENT);
      if (state.status === 'present') found.push(state);
    }
    return found;
  }
}

/**
 * The answer to an id records does not hold, and, word for word, to a request the caller has no right to (see
 * AccessService.authorize): someone outside a patient's circle learns neither that the record exists nor anything
 * of the patient's consents. The refusal itself is audited, with its real reason, in the patient's accounting.
 */
export function resourceNotFound(resourceType: string, id: string): ProblemException {
  return new ProblemException(404, ResourceErrorCode.NOT_FOUND, 'No such resource', {
    detail: `no ${resourceType}/${id} that you may access`,
  });
}

/** A write naming a patient records does not hold, or one the caller may not write to: the same 422. */
export function unknownPatient(patientId: string): OperationOutcomeException {
  return refuse(422, 'RECORDS.UNKNOWN_PATIENT', {
    resourceType: 'OperationOutcome',
    issue: [
      { severity: 'error', code: 'not-found', diagnostics: `no Patient/${patientId} in records that you may write to` },
    ],
  });
}

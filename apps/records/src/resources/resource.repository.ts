import { Inject, Injectable } from '@nestjs/common';
import { EVENT_STORE, EventStore, type Sql, type StoredEvent } from '@medledger/event-store';
import { ABSENT, evolve, type ResourceEvent, type ResourceState } from './domain/resource';

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

  /** The current version of every resource of `resourceType` in a patient's record, oldest first. */
  async ofPatient(tx: Sql, patientId: string, resourceType: string): Promise<PresentResource[]> {
    const rows = await tx.$queryRawUnsafe<Array<{ stream_id: string }>>(
      `SELECT stream_id FROM resource_index WHERE patient_id = $1::uuid AND resource_type = $2 ORDER BY created_at, resource_id`,
      patientId,
      resourceType,
    );
    return this.currentOf(
      tx,
      rows.map((row) => row.stream_id),
    );
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

import type { NewStreamEvent, Projection, ProjectionSql, Sql } from '@medledger/event-store';
import type { AuditEvent as AuditRecorded } from '../../audit/domain/audit';
import type { EmergencyAccessGranted } from '../../access/domain/break-glass';
import { evolve, ABSENT, type ResourceEvent } from '../domain/resource';
import { RESOURCE_STREAM_TYPES } from '../domain/resource-types';

/**
 * Where every resource is, whose record holds it and its current version: ids only, no PHI. Reads find a
 * resource's stream here; searches list a patient's resources of one type.
 */
export const resourceIndexProjection: Projection<Sql> = {
  name: 'resource-index',
  streamTypes: RESOURCE_STREAM_TYPES,
  async apply(tx, stored) {
    // Metadata first: it outlives an erasure. Events from before it carried the ids hold them in their data only.
    const ids = stored.metadata as Partial<{ resourceType: string; id: string; patientId: string; at: string }>;
    const state =
      ids.resourceType && ids.id && ids.patientId && ids.at
        ? { resourceType: ids.resourceType, id: ids.id, patientId: ids.patientId, lastUpdated: ids.at }
        : evolve(ABSENT, stored as unknown as ResourceEvent);
    if ('status' in state && state.status !== 'present') return;
    await tx.$executeRawUnsafe(
      `INSERT INTO resource_index (resource_type, resource_id, patient_id, stream_id, version_id, created_at, last_updated)
       VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6::timestamptz, $6::timestamptz)
       ON CONFLICT (resource_type, resource_id) DO UPDATE SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated`,
      state.resourceType,
      state.id,
      state.patientId,
      stored.streamId,
      stored.version,
      state.lastUpdated,
    );
  },
  // New streams come with their ids in the metadata (every version records writes carries them): one statement for
  // all of a transaction Bundle's creates.
  newStreamsSql(events) {
    const ids = events.map(
      (event) => event.metadata as { resourceType: string; id: string; patientId: string; at: string },
    );
    return {
      text: `INSERT INTO resource_index (resource_type, resource_id, patient_id, stream_id, version_id, created_at, last_updated)
       SELECT t, r, p, s, 1, a, a FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[]) AS x(t, r, p, s, a)
       ON CONFLICT (resource_type, resource_id) DO UPDATE SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated`,
      values: [
        ids.map((i) => i.resourceType),
        ids.map((i) => i.id),
        ids.map((i) => i.patientId),
        events.map((event) => event.streamId),
        ids.map((i) => i.at),
      ],
    };
  },
  async reset(tx) {
    await tx.$executeRawUnsafe('DELETE FROM resource_index');
  },
};

/** Break-glass grants by patient and actor, for the access decision (the stated reason stays in the event). */
export const breakGlassProjection: Projection<Sql> = {
  name: 'break-glass',
  streamTypes: ['BreakGlass'],
  async apply(tx, stored) {
    const { grantId, patientId, actor, grantedAt, until } = stored.metadata as Omit<
      EmergencyAccessGranted['data'],
      'reason' | 'salt' | 'reasonCommitment'
    >;
    await tx.$executeRawUnsafe(
      `INSERT INTO break_glass_grant (grant_id, patient_id, actor, granted_at, until)
       VALUES ($1::uuid, $2::uuid, $3, $4::timestamptz, $5::timestamptz)`,
      grantId,
      patientId,
      actor,
      grantedAt,
      until,
    );
  },
  async reset(tx) {
    await tx.$executeRawUnsafe('DELETE FROM break_glass_grant');
  },
};

/** The audit-log rows of new AuditEvent streams, in one statement. */
function auditLogSql(events: ReadonlyArray<NewStreamEvent>): ProjectionSql {
  const entries = events.map((stored) => ({
    ...(stored.metadata as Pick<AuditRecorded['data'], 'entry'>).entry,
    eventId: stored.eventId,
  }));
  const column = <K extends keyof (typeof entries)[number]>(key: K) => entries.map((e) => e[key] ?? null);
  return {
    text: `INSERT INTO audit_log (audit_event_id, patient_id, actor, role, interaction, outcome, basis, resource_type,
                            resource_id, purpose, recorded, event_id, organization, client_address, token_id)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                          $8::text[], $9::uuid[], $10::text[], $11::timestamptz[], $12::uuid[], $13::text[],
                          $14::text[], $15::text[])`,
    values: [
      column('auditEventId'),
      column('patientId'),
      column('actor'),
      column('role'),
      column('interaction'),
      column('outcome'),
      column('basis'),
      column('resourceType'),
      column('resourceId'),
      column('purpose'),
      column('recorded'),
      column('eventId'),
      column('organization'),
      column('clientAddress'),
      column('tokenId'),
    ],
  };
}

/** The audit trail by patient and time, ids only: the accounting of disclosures reads it. */
export const auditLogProjection: Projection<Sql> = {
  name: 'audit-log',
  streamTypes: ['AuditEvent'],
  async apply(tx, stored) {
    const { text, values } = auditLogSql([stored]);
    await tx.$executeRawUnsafe(text, ...values);
  },
  newStreamsSql: auditLogSql,
  async reset(tx) {
    await tx.$executeRawUnsafe('DELETE FROM audit_log');
  },
};

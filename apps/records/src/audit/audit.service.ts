import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { createEnvelope, PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import {
  EVENT_STORE,
  EVENT_STORE_SQL,
  EventStore,
  type NewStream,
  type OutboxMessage,
  type Sql,
  type TransactionalSql,
} from '@medledger/event-store';
import type { AuthenticatedActor } from '@medledger/platform';
import { commitment, COMMITMENT_SALT_BYTES } from '../resources/domain/commitment';
import { auditStreamId, toAuditEvent, type AuditEntry, type AuditEvent } from './domain/audit';

/** What a caller says about one access; the service adds the id, the time and the actor's role. */
export type AuditInput = Omit<AuditEntry, 'auditEventId' | 'recorded' | 'actor' | 'role'>;

export const AUDIT_SOURCE = 'medledger records';
/** AuditEvents committed together at most (a group's statements stay well under PostgreSQL's limits). */
export const AUDIT_GROUP_MAX = 200;
/**
 * Groups committing at once: with two, an audit that arrives while a group commits starts its own at once instead
 * of waiting for that commit (audits of different accesses are independent streams, so order does not matter).
 */
export const AUDIT_GROUPS_IN_FLIGHT = 2;

interface PreparedAudit {
  entry: AuditEntry;
  stream: NewStream<AuditEvent>;
  message: OutboxMessage;
}

/** One entry of the accounting of disclosures, with where the ledger sealed it. */
export interface Disclosure {
  auditEventId: string;
  recorded: string;
  actor: string;
  role: string;
  interaction: string;
  outcome: string;
  basis: string;
  resourceType?: string;
  resourceId?: string;
  purpose?: string;
  /** The public records.AccessAudited event; its verified receipt: GET /v1/events/{eventId}/receipt. */
  eventId: string;
  receipt: { leafIndex: number; blockHeight: number; treeSize: number; checkpoint: string } | null;
}

/**
 * Writes the audit trail: one AuditEvent per access, in the transaction of what it audits (a write and its audit
 * commit together; a read is served only once its audit is committed), and its public records.AccessAudited event.
 */
@Injectable()
export class AuditService {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore<Sql>,
    @Inject(EVENT_STORE_SQL) private readonly client: TransactionalSql,
  ) {}

  /** Audits an access in the caller's transaction (a write and its audit commit together). */
  async record(tx: Sql, actor: AuthenticatedActor, input: AuditInput): Promise<AuditEntry> {
    const prepared = this.prepare(actor, input);
    await this.write(tx, [prepared]);
    return prepared.entry;
  }

  /**
   * Audits an access that changed nothing else (a read, a search, a refusal); resolves once its AuditEvent is
   * committed, so the caller answers only then. Concurrent calls commit together (group commit): one statement
   * for the whole group, however many accesses it holds.
   */
  recordAlone(actor: AuthenticatedActor, input: AuditInput): Promise<AuditEntry> {
    const prepared = this.prepare(actor, input);
    return new Promise<AuditEntry>((resolve, reject) => {
      this.queue.push({ prepared, resolve, reject });
      void this.flush();
    });
  }

  private readonly queue: Array<{
    prepared: PreparedAudit;
    resolve: (entry: AuditEntry) => void;
    reject: (error: unknown) => void;
  }> = [];
  private flushing = 0;

  private async flush(): Promise<void> {
    if (this.flushing >= AUDIT_GROUPS_IN_FLIGHT) return;
    this.flushing += 1;
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, AUDIT_GROUP_MAX);
        try {
          await this.writeAtOnce(group.map((g) => g.prepared));
          for (const item of group) item.resolve(item.prepared.entry);
        } catch (error) {
          if (group.length === 1) (group[0] as (typeof group)[number]).reject(error);
          // One bad entry must not fail the others: each alone, then.
          else
            for (const item of group) {
              try {
                await this.writeAtOnce([item.prepared]);
                item.resolve(item.prepared.entry);
              } catch (alone) {
                item.reject(alone);
              }
            }
        }
      }
    } finally {
      this.flushing -= 1;
    }
  }

  private prepare(actor: AuthenticatedActor, input: AuditInput): PreparedAudit {
    const entry: AuditEntry = {
      ...input,
      auditEventId: randomUUID(),
      actor: actor.reference,
      role: actor.role,
      recorded: new Date().toISOString(),
    };
    const auditEvent = toAuditEvent(entry, AUDIT_SOURCE);
    const salt = randomBytes(COMMITMENT_SALT_BYTES);
    const digest = commitment(auditEvent as unknown as Record<string, unknown> & { resourceType: string }, salt);
    const event: AuditEvent = {
      type: 'AccessAudited',
      data: { entry, auditEvent, salt: salt.toString('base64'), commitment: digest },
    };
    const eventId = randomUUID();
    return {
      entry,
      stream: {
        streamId: auditStreamId(entry.patientId, entry.auditEventId),
        streamType: 'AuditEvent',
        // The entry (ids and codes, no PHI) also in clear metadata: it outlives an erasure of the patient's key.
        event: { ...event, eventId, metadata: { entry } },
      },
      message: {
        topic: PUBLIC_EVENT_TOPICS.records,
        key: entry.patientId,
        envelope: createEnvelope({
          type: 'records.AccessAudited',
          id: eventId,
          time: entry.recorded,
          subject: `Patient/${entry.patientId}`,
          aggregateId: entry.auditEventId,
          aggregateVersion: 1,
          data: {
            auditEventId: entry.auditEventId,
            patientId: entry.patientId,
            actor: entry.actor,
            role: entry.role,
            interaction: entry.interaction,
            outcome: entry.outcome,
            basis: entry.basis,
            ...(entry.resourceType !== undefined && { resourceType: entry.resourceType }),
            ...(entry.resourceId !== undefined && { resourceId: entry.resourceId }),
            recorded: entry.recorded,
            commitment: digest,
          },
        }),
      },
    };
  }

  /** A group of audits alone: one statement, one round trip (EventStore.appendNewAtOnce). */
  private async writeAtOnce(audits: readonly PreparedAudit[]): Promise<void> {
    await this.store.appendNewAtOnce(
      this.client,
      audits.map((a) => a.stream),
      audits.map((a) => a.message),
    );
  }

  private async write(tx: Sql, audits: readonly PreparedAudit[]): Promise<void> {
    await this.store.appendNew(
      tx,
      audits.map((a) => a.stream),
    );
    await this.store.enqueue(
      tx,
      audits.map((a) => a.message),
    );
  }

  /**
   * The accounting of disclosures (HIPAA §164.528): every access to the patient's record by anyone but the patient,
   * refusals included, oldest first, each with where the ledger sealed its audit event (null until sealed).
   */
  async disclosures(patientId: string): Promise<Disclosure[]> {
    const rows = await this.client.$queryRawUnsafe<
      Array<{
        audit_event_id: string;
        recorded: Date;
        actor: string;
        role: string;
        interaction: string;
        outcome: string;
        basis: string;
        resource_type: string | null;
        resource_id: string | null;
        purpose: string | null;
        event_id: string;
        leaf_index: string | null;
        block_height: string | null;
        tree_size: string | null;
        checkpoint: string | null;
      }>
    >(
      `SELECT a.audit_event_id::text, a.recorded, a.actor, a.role, a.interaction, a.outcome, a.basis, a.resource_type,
              a.resource_id::text, a.purpose, a.event_id::text, r.leaf_index::text, r.block_height::text,
              r.tree_size::text, r.checkpoint
         FROM audit_log a
         LEFT JOIN LATERAL (SELECT * FROM es_receipt r WHERE r.event_id = a.event_id::text AND r.verified_at IS NOT NULL) r ON true
        WHERE a.patient_id = $1::uuid AND a.actor <> $2
        ORDER BY a.recorded, a.audit_event_id`,
      patientId,
      `Patient/${patientId}`,
    );
    return rows.map((row) => ({
      auditEventId: row.audit_event_id,
      recorded: row.recorded.toISOString(),
      actor: row.actor,
      role: row.role,
      interaction: row.interaction,
      outcome: row.outcome,
      basis: row.basis,
      ...(row.resource_type !== null && { resourceType: row.resource_type }),
      ...(row.resource_id !== null && { resourceId: row.resource_id }),
      ...(row.purpose !== null && { purpose: row.purpose }),
      eventId: row.event_id,
      receipt:
        row.leaf_index === null
          ? null
          : {
              leafIndex: Number(row.leaf_index),
              blockHeight: Number(row.block_height),
              treeSize: Number(row.tree_size),
              checkpoint: row.checkpoint as string,
            },
    }));
  }

  /** The patient's AuditEvents (FHIR), oldest first: decrypted from their streams. */
  async auditEvents(patientId: string): Promise<AuditEvent['data']['auditEvent'][]> {
    const rows = await this.client.$queryRawUnsafe<Array<{ audit_event_id: string }>>(
      'SELECT audit_event_id::text FROM audit_log WHERE patient_id = $1::uuid ORDER BY recorded, audit_event_id',
      patientId,
    );
    const events: AuditEvent['data']['auditEvent'][] = [];
    for (const row of rows) {
      const stream = await this.store.load<AuditEvent>(this.client, auditStreamId(patientId, row.audit_event_id));
      for (const event of stream.events) events.push(event.data.auditEvent);
    }
    return events;
  }
}

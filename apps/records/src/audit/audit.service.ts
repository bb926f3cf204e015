import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { createEnvelope, PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import {
  ErasedEventData,
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
import type { Pseudonyms } from '../resources/domain/pseudonym';
import { PatientKeyCodec } from '../resources/infra/patient-keys';
import {
  auditQueryStreamId,
  auditStreamId,
  legacyAuditStreamId,
  toAuditEvent,
  type AuditDetails,
  type AuditEntry,
  type AuditEvent,
  type AuditQueryEvent,
} from './domain/audit';

/**
 * What a caller says about one access; the service adds the id, the time, the actor's role, organization and
 * token id, and the client's address (all but the first two from the AuthenticatedActor). `query` (a search's parameters) goes into the encrypted AuditEvent only.
 */
export type AuditInput = Omit<
  AuditEntry,
  'auditEventId' | 'recorded' | 'actor' | 'role' | 'tokenId' | 'organization' | 'clientAddress'
> &
  AuditDetails;

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
  streams: Array<NewStream<AuditEvent>>;
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
  /**
   * Who received the data (HIPAA §164.528(b)(2)(ii)): the actor, the organization they acted for, and the network
   * address the request came from.
   */
  recipient: { actor: string; organization?: string; address?: string };
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
    private readonly keys: PatientKeyCodec,
  ) {}

  /** Audits an access in the caller's transaction (a write and its audit commit together). */
  async record(tx: Sql, actor: AuthenticatedActor, input: AuditInput): Promise<AuditEntry> {
    const prepared = await this.prepareIn(tx, actor, input);
    await this.write(tx, [prepared]);
    return prepared.entry;
  }

  /** Audits several accesses in the caller's transaction (a transaction Bundle's writes): a few statements for all. */
  async recordAll(tx: Sql, actor: AuthenticatedActor, inputs: readonly AuditInput[]): Promise<AuditEntry[]> {
    // One after another: each reads its patient's pseudonym key in the caller's transaction (cached after the first).
    const prepared: PreparedAudit[] = [];
    for (const input of inputs) prepared.push(await this.prepareIn(tx, actor, input));
    await this.write(tx, prepared);
    return prepared.map((p) => p.entry);
  }

  /**
   * Audits an access that changed nothing else (a read, a search, a refusal); resolves once its AuditEvent is
   * committed, so the caller answers only then. Concurrent calls commit together (group commit): one statement
   * for the whole group, however many accesses it holds.
   */
  async recordAlone(actor: AuthenticatedActor, input: AuditInput): Promise<AuditEntry> {
    const prepared = this.prepare(actor, input, await this.keys.pseudonymsNow(this.client, input.patientId));
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

  /** {@link prepare} under the patient's pseudonyms read (or created) in the caller's transaction. */
  private async prepareIn(tx: Sql, actor: AuthenticatedActor, input: AuditInput): Promise<PreparedAudit> {
    return this.prepare(actor, input, await this.keys.pseudonyms(tx, input.patientId));
  }

  /** The AuditEvent and its public event, which names the patient, the actor and the resource by pseudonyms. */
  private prepare(actor: AuthenticatedActor, input: AuditInput, pseudonyms: Pseudonyms): PreparedAudit {
    const { query, ...fields } = input;
    const { clientAddress } = actor;
    const entry: AuditEntry = {
      ...fields,
      auditEventId: randomUUID(),
      actor: actor.reference,
      role: actor.role,
      recorded: new Date().toISOString(),
      ...(actor.tokenId !== undefined && { tokenId: actor.tokenId }),
      ...(actor.organization !== undefined && { organization: actor.organization }),
      ...(clientAddress !== undefined && { clientAddress }),
    };
    // The commitment covers the whole AuditEvent; the stored one (under the service's audit key) leaves a search's
    // criteria out: they are kept in the patient's record, under their key, and erased with it.
    const whole = toAuditEvent(entry, AUDIT_SOURCE, query !== undefined ? { query } : {});
    const auditEvent = query === undefined ? whole : toAuditEvent(entry, AUDIT_SOURCE);
    const salt = randomBytes(COMMITMENT_SALT_BYTES);
    const digest = commitment(whole as unknown as Record<string, unknown> & { resourceType: string }, salt);
    const event: AuditEvent = {
      type: 'AccessAudited',
      data: { entry, auditEvent, salt: salt.toString('base64'), commitment: digest },
    };
    const eventId = randomUUID();
    const criteria: AuditQueryEvent | undefined =
      query === undefined ? undefined : { type: 'AuditQueryRecorded', data: { query } };
    return {
      entry,
      streams: [
        {
          streamId: auditStreamId(entry.patientId, entry.auditEventId),
          streamType: 'AuditEvent',
          // The entry (ids and codes, no PHI) also in clear metadata: the projection and rebuilds read it.
          event: { ...event, eventId, metadata: { entry } },
        },
        ...(criteria
          ? [
              {
                streamId: auditQueryStreamId(entry.patientId, entry.auditEventId),
                streamType: 'AuditQuery',
                event: { ...criteria, eventId: randomUUID() },
              } as unknown as NewStream<AuditEvent>,
            ]
          : []),
      ],
      message: {
        topic: PUBLIC_EVENT_TOPICS.records,
        key: pseudonyms.patient,
        envelope: createEnvelope({
          type: 'records.AccessAudited',
          id: eventId,
          time: entry.recorded,
          subject: pseudonyms.patient,
          aggregateId: entry.auditEventId,
          aggregateVersion: 1,
          data: {
            auditEventId: entry.auditEventId,
            patient: pseudonyms.patient,
            actor: pseudonyms.actor(entry.actor),
            role: entry.role,
            interaction: entry.interaction,
            outcome: entry.outcome,
            basis: entry.basis,
            ...(entry.resourceType !== undefined && { resourceType: entry.resourceType }),
            ...(entry.resourceType !== undefined &&
              entry.resourceId !== undefined && {
                resource: pseudonyms.resource(entry.resourceType, entry.resourceId),
              }),
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
      audits.flatMap((a) => a.streams),
      audits.map((a) => a.message),
    );
  }

  private async write(tx: Sql, audits: readonly PreparedAudit[]): Promise<void> {
    await this.store.appendNew(
      tx,
      audits.flatMap((a) => a.streams),
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
  async disclosures(patientId: string, page: Page = FIRST_PAGE): Promise<{ total: number; disclosures: Disclosure[] }> {
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
        organization: string | null;
        client_address: string | null;
        event_id: string;
        leaf_index: string | null;
        block_height: string | null;
        tree_size: string | null;
        checkpoint: string | null;
        total: string;
      }>
    >(
      `SELECT a.audit_event_id::text, a.recorded, a.actor, a.role, a.interaction, a.outcome, a.basis, a.resource_type,
              a.resource_id::text, a.purpose, a.organization, a.client_address, a.event_id::text,
              r.leaf_index::text, r.block_height::text, r.tree_size::text, r.checkpoint, count(*) OVER ()::text AS total
         FROM audit_log a
         LEFT JOIN LATERAL (SELECT * FROM es_receipt r WHERE r.event_id = a.event_id::text AND r.verified_at IS NOT NULL) r ON true
        WHERE a.patient_id = $1::uuid AND a.actor <> $2
        ORDER BY a.recorded, a.audit_event_id
        LIMIT $3 OFFSET $4`,
      patientId,
      `Patient/${patientId}`,
      page.count,
      page.offset,
    );
    const total = rows[0] ? Number(rows[0].total) : await this.count(patientId, `Patient/${patientId}`);
    return {
      total,
      disclosures: rows.map((row) => ({
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
        recipient: {
          actor: row.actor,
          ...(row.organization !== null && { organization: row.organization }),
          ...(row.client_address !== null && { address: row.client_address }),
        },
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
      })),
    };
  }

  /** A page past the end has no row to carry the total: counted apart (all but `excluding`'s own accesses). */
  private async count(patientId: string, excluding = ''): Promise<number> {
    const [row] = await this.client.$queryRawUnsafe<Array<{ n: bigint }>>(
      'SELECT count(*) AS n FROM audit_log WHERE patient_id = $1::uuid AND actor <> $2',
      patientId,
      excluding,
    );
    return Number(row?.n ?? 0);
  }

  /** One page of the patient's AuditEvents (FHIR), oldest first: only that page's streams are decrypted. */
  async auditEvents(
    patientId: string,
    page: Page = FIRST_PAGE,
  ): Promise<{ total: number; events: AuditEvent['data']['auditEvent'][] }> {
    const rows = await this.client.$queryRawUnsafe<Array<{ audit_event_id: string; total: string }>>(
      `SELECT audit_event_id::text, count(*) OVER ()::text AS total FROM audit_log WHERE patient_id = $1::uuid
        ORDER BY recorded, audit_event_id LIMIT $2 OFFSET $3`,
      patientId,
      page.count,
      page.offset,
    );
    const ids = rows.map((row) => row.audit_event_id);
    // Under the service's audit key (readable after an erasure); older ones under the patient's (see legacy).
    const current = await this.store.loadMany<AuditEvent>(
      this.client,
      ids.map((id) => auditStreamId(patientId, id)),
    );
    const criteria = await this.readable<AuditQueryEvent>(ids.map((id) => auditQueryStreamId(patientId, id)));
    const legacy = current.some((stream) => stream.events.length === 0)
      ? await this.readable<AuditEvent>(ids.map((id) => legacyAuditStreamId(patientId, id)))
      : [];
    const events = ids.flatMap((_id, i) => {
      const stored = current[i]?.events[0] ?? legacy[i]?.events[0];
      if (!stored) return [];
      const query = criteria[i]?.events[0]?.data.query;
      const auditEvent = stored.data.auditEvent;
      return [query === undefined ? auditEvent : toAuditEvent(stored.data.entry, AUDIT_SOURCE, { query })];
    });
    const total = rows[0] ? Number(rows[0].total) : await this.count(patientId);
    return { total, events };
  }

  /** These streams, or none of them where the patient's key is destroyed (an erasure took their content). */
  private async readable<E extends AuditEvent | AuditQueryEvent>(streamIds: string[]) {
    try {
      return await this.store.loadMany<E>(this.client, streamIds);
    } catch (error) {
      if (error instanceof ErasedEventData) return [];
      throw error;
    }
  }
}

/** A page of a list: `count` items from `offset` (FHIR `_count`, and the offset its paging links carry). */
export interface Page {
  count: number;
  offset: number;
}

/** Items per page by default, and at most (`_count`). */
export const PAGE_SIZE = { default: 100, max: 1_000 } as const;
export const FIRST_PAGE: Page = { count: PAGE_SIZE.default, offset: 0 };

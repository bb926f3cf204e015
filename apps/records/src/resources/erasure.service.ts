import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { createEnvelope, PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import {
  EVENT_STORE,
  EVENT_STORE_SQL,
  EventStore,
  VersionConflict,
  type Sql,
  type TransactionalSql,
} from '@medledger/event-store';
import { ProblemException, type AuthenticatedActor } from '@medledger/platform';
import { AccessService } from '../access/access.service';
import { AuditService } from '../audit/audit.service';
import { ERASURE_STREAM_PREFIX, PatientKeyCodec, patientKeyOwners } from './infra/patient-keys';
import { decideErasure, evolveErasure, NO_ERASURE, type ErasureEvent } from './domain/erasure';
import { ResourceRepository, resourceNotFound } from './resource.repository';

/**
 * Erasure (GDPR Art. 17) by crypto-shredding: the patient's data key is destroyed, so every event of their record,
 * every version, consent, grant and AuditEvent, becomes unreadable at once, in every backup that holds the same
 * rows; and their pseudonym key, so the public events that name them by pseudonyms can no longer be linked to them
 * (ADR 0013). Nothing is deleted from the event log, the outbox or the ledger: what left records was pseudonyms and
 * salted commitments, which cannot be opened without the destroyed keys. The erasure is an event, audited and
 * anchored.
 * Who may erase, and the second approval an organization's erasure needs: domain/erasure.ts.
 */
@Injectable()
export class ErasureService {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore<Sql>,
    @Inject(EVENT_STORE_SQL) private readonly client: TransactionalSql,
    private readonly resources: ResourceRepository,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly keys: PatientKeyCodec,
  ) {}

  /**
   * The patient's erasure, an admin's request, or a second admin's approval (which erases). Answers what was
   * done: `erased` (with the public event) or `awaiting-second-approval`.
   */
  async erase(actor: AuthenticatedActor, patientId: string, body: unknown) {
    const { streamId } = await this.resources.require(this.client, 'Patient', patientId);
    const query = { patientId, interaction: 'erase', resourceType: 'Patient', resourceId: patientId } as const;
    const permit = await this.access.authorize(actor, query);
    const erasureStream = `${ERASURE_STREAM_PREFIX}${patientId}`;
    const { state, version } = await this.store.aggregate(this.client, erasureStream, NO_ERASURE, (s, e) =>
      evolveErasure(s, e as unknown as ErasureEvent),
    );
    const self = actor.role === 'patient';
    const now = new Date().toISOString();
    const decision = decideErasure(state, {
      patientId,
      actor: {
        reference: actor.reference,
        role: actor.role,
        ...(actor.organization !== undefined && { organization: actor.organization }),
      },
      ...(state.status !== 'erased' && !self && { managingOrganization: await this.managingOrganization(streamId) }),
      reason: typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['reason'] : undefined,
      clinicalEntries: self && state.status !== 'erased' ? await this.clinicalEntries(patientId) : 0,
      now,
    });
    if (decision.kind === 'refuse') {
      if (decision.status !== 410)
        await this.audit.recordAlone(actor, {
          ...this.access.auditFields(query),
          outcome: '4',
          basis: decision.status === 403 ? 'role-deny' : permit.basis,
        });
      // An admin outside the patient's organization learns no more than of an unknown patient (see authorize).
      if (decision.status === 403) throw resourceNotFound('Patient', patientId);
      const title = decision.status === 410 ? 'The data of this patient was erased' : 'Erasure refused';
      throw new ProblemException(decision.status, decision.code, title, { detail: decision.detail });
    }
    try {
      const done = await this.store.transact(this.client, async (tx) => {
        const [stored] = await this.store.append(tx, {
          streamId: erasureStream,
          streamType: 'Erasure',
          expectedVersion: version,
          events: [{ type: decision.event.type, data: { ...decision.event.data }, eventId: randomUUID() }],
        });
        if (!stored) throw new Error('the erasure was not stored');
        // Audited while the key still exists (the AuditEvent is the patient's, under their key).
        await this.audit.record(tx, actor, { ...this.access.auditFields(query), outcome: '0', basis: permit.basis });
        if (decision.kind === 'request')
          return { status: 'awaiting-second-approval' as const, eventId: stored.eventId };
        // The public event names the patient and the requester by their pseudonyms, computed while the key that
        // makes them still exists; both keys go in the same transaction (ADR 0013).
        const pseudonyms = await this.keys.pseudonyms(tx, patientId);
        await this.store.enqueue(tx, [
          {
            topic: PUBLIC_EVENT_TOPICS.records,
            key: pseudonyms.patient,
            envelope: createEnvelope({
              type: 'records.PatientErased',
              id: stored.eventId,
              time: now,
              subject: pseudonyms.patient,
              aggregateId: pseudonyms.patient,
              aggregateVersion: 1,
              data: {
                patient: pseudonyms.patient,
                requestedBy: pseudonyms.actor(decision.event.data.requestedBy),
                erasedAt: decision.event.data.erasedAt,
              },
            }),
          },
        ]);
        const destroyed = await tx.$executeRawUnsafe(
          `UPDATE patient_key SET wrapped = '', destroyed_at = $2::timestamptz
            WHERE stream_id = ANY($1::text[]) AND destroyed_at IS NULL`,
          patientKeyOwners(patientId),
          now,
        );
        if (destroyed !== 2) throw new Error(`Patient/${patientId} had no live data key or pseudonym key`);
        // The blind index's tokens were under a key derived from the pseudonym key: nobody can link them to a value
        // any more, and they go too, so not even which resources shared a value is left (ADR 0016).
        await tx.$executeRawUnsafe('DELETE FROM search_index WHERE patient_id = $1::uuid', patientId);
        return { status: 'erased' as const, eventId: stored.eventId };
      });
      if (done.status === 'awaiting-second-approval' && decision.kind === 'request')
        return {
          patientId,
          status: done.status,
          requestedBy: decision.event.data.requestedBy,
          requestedAt: decision.event.data.requestedAt,
          expiresAt: decision.expiresAt,
        };
      for (const owner of patientKeyOwners(patientId)) this.keys.forget(owner);
      return { patientId, status: done.status, erasedAt: now, eventId: done.eventId };
    } catch (error) {
      if (error instanceof VersionConflict)
        throw new ProblemException(409, 'EVENT_STORE.VERSION_CONFLICT', 'The erasure changed meanwhile', {
          detail: `another erasure request of Patient/${patientId} was recorded at the same time: try again`,
        });
      throw error;
    }
  }

  /** `Patient.managingOrganization.reference` of the current version (decrypted: the caller passed the role gate). */
  private async managingOrganization(streamId: string): Promise<string | undefined> {
    const versions = await this.resources.versions(this.client, streamId);
    const state = versions.at(-1)?.state;
    const reference = (state?.resource['managingOrganization'] as { reference?: unknown } | undefined)?.reference;
    return typeof reference === 'string' ? reference : undefined;
  }

  /**
   * Entries of the record written by a practitioner or an org admin, or by an author no event recorded (written
   * before authors were): the ones a patient's own erasure retains. Read from the events' clear metadata.
   */
  private async clinicalEntries(patientId: string): Promise<number> {
    const [row] = await this.client.$queryRawUnsafe<Array<{ n: bigint }>>(
      `SELECT count(DISTINCT ri.stream_id) AS n
         FROM resource_index ri JOIN es_event e ON e.stream_id = ri.stream_id
        WHERE ri.patient_id = $1::uuid AND ri.resource_type NOT IN ('Patient', 'Consent')
          AND coalesce(e.metadata->>'authorRole', 'unknown') NOT IN ('patient', 'related-person')`,
      patientId,
    );
    return Number(row?.n ?? 0);
  }
}

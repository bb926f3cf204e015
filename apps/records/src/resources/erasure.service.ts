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
import { ERASURE_STREAM_PREFIX, PatientKeyCodec, RecordsCryptoError } from './infra/patient-keys';
import { ResourceRepository } from './resource.repository';

/** The stored event of an erasure: ids only, kept in clear (its stream is never encrypted). */
export interface PatientErased {
  type: 'PatientErased';
  data: { patientId: string; requestedBy: string; erasedAt: string };
}

/**
 * Erasure (GDPR Art. 17) by crypto-shredding: the patient's data key is destroyed, so every event of their record,
 * every version, consent, grant and AuditEvent, becomes unreadable at once, in every backup that holds the same
 * rows. Nothing is deleted from the event log, the outbox or the ledger: what left records was ids and salted
 * commitments, which cannot be opened without the destroyed data. The erasure is an event, audited and anchored.
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

  async erase(actor: AuthenticatedActor, patientId: string) {
    await this.resources.require(this.client, 'Patient', patientId);
    const query = { patientId, interaction: 'erase', resourceType: 'Patient', resourceId: patientId } as const;
    const permit = await this.access.authorize(actor, query);
    const erasedAt = new Date().toISOString();
    try {
      const erased = await this.store.transact(this.client, async (tx) => {
        const event: PatientErased = {
          type: 'PatientErased',
          data: { patientId, requestedBy: actor.reference, erasedAt },
        };
        const [stored] = await this.store.append(tx, {
          streamId: `${ERASURE_STREAM_PREFIX}${patientId}`,
          streamType: 'Erasure',
          expectedVersion: 0,
          events: [{ ...event, eventId: randomUUID() }],
        });
        if (!stored) throw new Error('the erasure was not stored');
        await this.store.enqueue(tx, [
          {
            topic: PUBLIC_EVENT_TOPICS.records,
            key: patientId,
            envelope: createEnvelope({
              type: 'records.PatientErased',
              id: stored.eventId,
              time: erasedAt,
              subject: `Patient/${patientId}`,
              aggregateId: patientId,
              aggregateVersion: 1,
              data: event.data,
            }),
          },
        ]);
        // Audited while the key still exists (the AuditEvent is the patient's, under their key); then shredded.
        await this.audit.record(tx, actor, { ...this.access.auditFields(query), outcome: '0', basis: permit.basis });
        const destroyed = await tx.$executeRawUnsafe(
          `UPDATE patient_key SET wrapped = '', destroyed_at = $2::timestamptz
            WHERE stream_id = $1 AND destroyed_at IS NULL`,
          `Patient-${patientId}`,
          erasedAt,
        );
        if (destroyed !== 1) throw new Error(`Patient/${patientId} had no live data key`);
        return { patientId, erasedAt, eventId: stored.eventId };
      });
      this.keys.forget(`Patient-${patientId}`);
      return erased;
    } catch (error) {
      if (error instanceof VersionConflict)
        throw new ProblemException(410, RecordsCryptoError.PATIENT_ERASED, 'The data of this patient was erased', {
          detail: `Patient/${patientId} was erased before`,
        });
      throw error;
    }
  }
}

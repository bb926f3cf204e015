import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { createEnvelope, PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import { EVENT_STORE, EVENT_STORE_SQL, EventStore, type Sql, type TransactionalSql } from '@medledger/event-store';
import { ProblemException, type AuthenticatedActor, type RecordsRole } from '@medledger/platform';
import { AuditService } from '../audit/audit.service';
import type { AuditBasis, AuditInteraction } from '../audit/domain/audit';
import {
  decideAccess,
  relatedDataNamed,
  type AccessDecision,
  type ConsentAction,
  type ConsentResource,
  type RelatedData,
} from '../consent/domain/consent-policy';
import { describeData, referencesIn, type RequestedData } from '../consent/domain/requested-data';
import {
  ResourceRepository,
  resourceNotFound,
  unknownPatient,
  type PresentResource,
} from '../resources/resource.repository';
import { UUID } from '../resources/domain/resource-types';
import { PatientKeyCodec } from '../resources/infra/patient-keys';
import {
  BREAK_GLASS_REASON_MAX,
  BREAK_GLASS_WINDOW_MS,
  breakGlassStreamId,
  type EmergencyAccessGranted,
} from './domain/break-glass';
import { roleGate } from './domain/roles';

export const AccessErrorCode = {
  DENIED: 'RECORDS.ACCESS_DENIED',
  INVALID_BREAK_GLASS: 'RECORDS.INVALID_BREAK_GLASS',
} as const;

/** The request an access decision is about. */
export interface AccessQuery {
  patientId: string;
  interaction: AuditInteraction;
  resourceType: string;
  resourceId?: string;
  versionId?: string;
  /** v3 PurposeOfUse code the caller declared (X-Purpose-Of-Use). */
  purpose?: string;
  /**
   * The resource(s) the access is about, for consents bound to data (`provision.data`, `dataPeriod`): every one
   * must be permitted (an update: the stored version and the new one). Absent: a question about the type.
   */
  data?: readonly RequestedData[];
}

/** A stored version as the consent policy sees it. */
export function requestedData(state: Pick<PresentResource, 'resource' | 'id' | 'lastUpdated'>): RequestedData {
  return describeData(state.resource, state.id, state.lastUpdated);
}

/** What a decision reads besides the request: the patient's Consents (current versions), the actor's grants. */
export interface AccessContext {
  consents: PresentResource[];
  /** Ends (ISO instants) of the actor's break-glass grants on this record that are still running. */
  grants: string[];
}

export interface Permit {
  basis: Extract<AuditBasis, 'self' | 'role' | 'consent' | 'break-glass'>;
  consentId?: string;
}

const WRITES: readonly AuditInteraction[] = ['create', 'update'];

function consentAction(interaction: AuditInteraction): ConsentAction {
  return WRITES.includes(interaction) ? 'correct' : 'access';
}

const BY_ID: readonly AuditInteraction[] = ['read', 'vread', 'history', 'update', 'verify'];

/**
 * What a refused caller is told: exactly what an unknown id answers (404 for a resource or a patient, 422 for a
 * write naming a patient), so a refusal shows neither that the record exists nor what the patient's consents say.
 * The real reason is in the audit trail, which the patient and auditors read. The one exception is registering
 * a patient, which names no existing record: its refusal says which roles may.
 */
function hidden(query: AccessQuery, verdict: { reason: string; basis: AuditBasis }): Error {
  if (query.interaction === 'create' && query.resourceType === 'Patient')
    return new ProblemException(403, AccessErrorCode.DENIED, 'Access refused', {
      detail: verdict.reason,
      basis: verdict.basis,
    });
  if (query.interaction === 'create') return unknownPatient(query.patientId);
  if (query.resourceId !== undefined && BY_ID.includes(query.interaction))
    return resourceNotFound(query.resourceType, query.resourceId);
  return resourceNotFound('Patient', query.patientId);
}

/**
 * Decides every access to a patient's record: the role gate, then (for anyone but the patient) the patient's active
 * privacy consents and any break-glass grant, read in the request's transaction, so a revocation or an expiry takes
 * effect on the next request. A refusal is audited and anchored before the 403 goes out.
 */
@Injectable()
export class AccessService {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore<Sql>,
    @Inject(EVENT_STORE_SQL) private readonly client: TransactionalSql,
    private readonly resources: ResourceRepository,
    private readonly audit: AuditService,
    private readonly keys: PatientKeyCodec,
  ) {}

  /** Permits the access or throws what an unknown id would answer (after auditing the refusal with its reason). */
  /**
   * `context`: the patient's Consents and the actor's break-glass ends when the caller loaded them already (a read
   * loads them with the resource); otherwise they are read here.
   */
  async authorize(actor: AuthenticatedActor, query: AccessQuery, context?: AccessContext): Promise<Permit> {
    // Outside the caller's transaction: a refusal commits its audit on its own while the request fails, and a
    // request never holds two pooled connections at once.
    const verdict = await this.decide(this.client, actor, query, context);
    if ('reason' in verdict) {
      await this.audit.recordAlone(actor, { ...this.auditFields(query), outcome: '4', ...verdict });
      throw hidden(query, verdict);
    }
    return verdict;
  }

  /** The audit fields of an access: what it was about. */
  auditFields(query: AccessQuery) {
    return {
      patientId: query.patientId,
      interaction: query.interaction,
      resourceType: query.resourceType,
      ...(query.resourceId !== undefined && { resourceId: query.resourceId }),
      ...(query.versionId !== undefined && { versionId: query.versionId }),
      ...(query.purpose !== undefined && { purpose: query.purpose }),
    };
  }

  /** What deciding `query` for `actor` reads, when the patient's consents decide it (else undefined). */
  async contextFor(actor: AuthenticatedActor, query: AccessQuery): Promise<AccessContext | undefined> {
    if (roleGate(actor, query.patientId, query.interaction, query.resourceType).kind !== 'consent') return undefined;
    return this.context(this.client, actor, query.patientId, new Date().toISOString());
  }

  /**
   * The results of a search the actor may see: each decided with its own data (a consent may permit one resource,
   * or the data of one period, and not the rest of the type). The search itself was authorized first.
   */
  async screen(
    actor: AuthenticatedActor,
    query: AccessQuery,
    found: PresentResource[],
    prefetched?: AccessContext,
  ): Promise<PresentResource[]> {
    const gate = roleGate(actor, query.patientId, query.interaction, query.resourceType);
    if (gate.kind !== 'consent') return gate.kind === 'allow' ? found : [];
    const now = new Date().toISOString();
    const context = prefetched ?? (await this.context(this.client, actor, query.patientId, now));
    const consents = context.consents.map((c) => c.resource as unknown as ConsentResource);
    const related = await this.related(this.client, query.patientId, consents);
    return found.filter(
      (r) =>
        this.decision(actor, { ...query, data: [requestedData(r)] }, consents, context.grants, related, now).permit,
    );
  }

  private async decide(
    tx: Sql,
    actor: AuthenticatedActor,
    query: AccessQuery,
    prefetched?: AccessContext,
  ): Promise<Permit | { basis: Extract<AuditBasis, `${string}-deny`>; reason: string; consentId?: string }> {
    const gate = roleGate(actor, query.patientId, query.interaction, query.resourceType);
    if (gate.kind === 'allow') return { basis: gate.basis };
    if (gate.kind === 'deny') return { basis: 'role-deny', reason: gate.reason };
    const now = new Date().toISOString();
    const { consents, grants } = prefetched ?? (await this.context(tx, actor, query.patientId, now));
    const parsed = consents.map((c) => c.resource as unknown as ConsentResource);
    const related = await this.related(tx, query.patientId, parsed);
    const decision = this.decision(actor, query, parsed, grants, related, now);
    if (decision.permit)
      return {
        basis: decision.basis === 'self' ? 'self' : decision.basis,
        ...(decision.consentId !== undefined && { consentId: decision.consentId }),
      };
    return {
      basis: decision.basis,
      reason: decision.reason,
      ...(decision.consentId !== undefined && { consentId: decision.consentId }),
    };
  }

  /** The policy's decision; with several data items, the first refusal, else the first permit. */
  private decision(
    actor: AuthenticatedActor,
    query: AccessQuery,
    consents: ConsentResource[],
    grants: string[],
    related: RelatedData,
    now: string,
  ): AccessDecision {
    const patient = `Patient/${query.patientId}`;
    const ask = (data: RequestedData | undefined) =>
      decideAccess(
        {
          actor: {
            reference: actor.reference,
            // AuthModule admits only records' roles here (SERVICE_ROLES.records).
            role: actor.role as RecordsRole,
            ...(actor.organization !== undefined && { organization: actor.organization }),
          },
          patient,
          action: consentAction(query.interaction),
          resourceType: query.resourceType,
          ...(data !== undefined && { data }),
          ...(query.purpose !== undefined && { purpose: query.purpose }),
          now,
        },
        consents,
        grants.map((until) => ({ actor: actor.reference, patient, until, reason: '' })),
        related,
      );
    const decisions = (query.data?.length ? query.data : [undefined]).map(ask);
    return decisions.find((d) => !d.permit) ?? (decisions[0] as AccessDecision);
  }

  /**
   * For consents naming data with meaning `related`: what each named resource of this record refers to (one query,
   * only when such a consent exists). A name that is not a resource of this record relates to nothing else.
   */
  private async related(tx: Sql, patientId: string, consents: ConsentResource[]): Promise<RelatedData> {
    const named = relatedDataNamed(consents).flatMap((reference) => {
      const [type, id] = reference.split('/');
      return type && id && UUID.test(id) ? [{ type, id: id.toLowerCase() }] : [];
    });
    if (named.length === 0) return new Map();
    const rows = await tx.$queryRawUnsafe<Array<{ stream_id: string }>>(
      `SELECT stream_id FROM resource_index
        WHERE patient_id = $1::uuid AND (resource_type, resource_id::text) IN
              (SELECT * FROM unnest($2::text[], $3::text[]))`,
      patientId,
      named.map((n) => n.type),
      named.map((n) => n.id),
    );
    const found = await this.resources.currentOf(
      tx,
      rows.map((r) => r.stream_id),
    );
    return new Map(found.map((r) => [`${r.resourceType}/${r.id}`, referencesIn(r.resource)]));
  }

  /** The patient's Consent streams and the actor's live break-glass grants in one round trip, then the Consents. */
  private async context(tx: Sql, actor: AuthenticatedActor, patientId: string, now: string): Promise<AccessContext> {
    const [row] = await tx.$queryRawUnsafe<Array<{ consents: string[]; grants: Date[] }>>(
      `SELECT ARRAY(SELECT stream_id FROM resource_index WHERE patient_id = $1::uuid AND resource_type = 'Consent'
                     ORDER BY created_at, resource_id) AS consents,
              ARRAY(SELECT until FROM break_glass_grant
                     WHERE patient_id = $1::uuid AND actor = $2 AND until > $3::timestamptz) AS grants`,
      patientId,
      actor.reference,
      now,
    );
    return {
      consents: await this.resources.currentOf(tx, row?.consents ?? []),
      grants: (row?.grants ?? []).map((until) => new Date(until).toISOString()),
    };
  }

  /**
   * A practitioner claims emergency access to a patient's record: granted for BREAK_GLASS_WINDOW_MS, audited, and
   * announced by records.EmergencyAccessGranted (the patient's notification), all in one transaction.
   */
  async breakGlass(
    actor: AuthenticatedActor,
    patientId: string,
    body: unknown,
  ): Promise<{ grantId: string; patientId: string; until: string; eventId: string }> {
    const { reason, purpose } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    if (typeof reason !== 'string' || reason.trim().length === 0 || reason.length > BREAK_GLASS_REASON_MAX)
      throw new ProblemException(400, AccessErrorCode.INVALID_BREAK_GLASS, 'A reason is required', {
        detail: `body: {"reason": "<why, 1 to ${BREAK_GLASS_REASON_MAX} characters>"}`,
      });
    await this.resources.require(this.client, 'Patient', patientId);
    const query: AccessQuery = {
      patientId,
      interaction: 'break-glass',
      resourceType: 'Patient',
      resourceId: patientId,
      ...(typeof purpose === 'string' && { purpose }),
    };
    await this.authorize(actor, query);
    return this.store.transact(this.client, async (tx) => {
      const grantId = randomUUID();
      const grantedAt = new Date();
      const until = new Date(grantedAt.getTime() + BREAK_GLASS_WINDOW_MS).toISOString();
      const salt = randomBytes(32);
      const reasonCommitment = commitReason(reason, salt);
      const event: EmergencyAccessGranted = {
        type: 'EmergencyAccessGranted',
        data: {
          grantId,
          patientId,
          actor: actor.reference,
          reason,
          ...(typeof purpose === 'string' && { purpose }),
          salt: salt.toString('base64'),
          reasonCommitment,
          grantedAt: grantedAt.toISOString(),
          until,
        },
      };
      const [stored] = await this.store.append(tx, {
        streamId: breakGlassStreamId(patientId, grantId),
        streamType: 'BreakGlass',
        expectedVersion: 0,
        events: [
          {
            ...event,
            eventId: randomUUID(),
            metadata: { grantId, patientId, actor: actor.reference, grantedAt: event.data.grantedAt, until },
          },
        ],
      });
      if (!stored) throw new Error('the grant was not stored');
      const pseudonyms = await this.keys.pseudonyms(tx, patientId);
      await this.store.enqueue(tx, [
        {
          topic: PUBLIC_EVENT_TOPICS.records,
          key: pseudonyms.patient,
          envelope: createEnvelope({
            type: 'records.EmergencyAccessGranted',
            id: stored.eventId,
            time: event.data.grantedAt,
            subject: pseudonyms.patient,
            aggregateId: grantId,
            aggregateVersion: 1,
            data: {
              grantId,
              patient: pseudonyms.patient,
              actor: pseudonyms.actor(actor.reference),
              grantedAt: event.data.grantedAt,
              until,
              reasonCommitment,
            },
          }),
        },
      ]);
      await this.audit.record(tx, actor, { ...this.auditFields(query), outcome: '0', basis: 'break-glass' });
      return { grantId, patientId, until, eventId: stored.eventId };
    });
  }
}

function commitReason(reason: string, salt: Uint8Array): string {
  return createHash('sha256').update(salt).update(reason, 'utf8').digest('base64');
}

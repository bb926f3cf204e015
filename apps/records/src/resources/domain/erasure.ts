/**
 * Who may erase a patient's record, and when (pure). Erasure destroys the patient's data key (crypto-shredding,
 * erasure.service.ts): it cannot be undone, so it is either the patient's own decision about their own data, or
 * two administrators of the organization that manages the patient agreeing on it.
 *
 * Decisions:
 * - **The patient** erases their record at once, unless it holds clinical entries written by someone else (a
 *   practitioner or an org admin; entries written before authors were recorded count as clinical). Those are
 *   retained: a patient may have them amended (HIPAA 45 CFR §164.526, right to amend: the entry is corrected,
 *   the original kept), not deleted; GDPR Art. 17(3)(b) and (c) exempt records a provider must keep by law or for
 *   public health. The refusal (409 RECORDS.RETENTION_REQUIRED) says how many entries are retained and how to go
 *   on: amendment, or the organization's erasure (below) where the law requires the entries gone. What the
 *   patient or a related person wrote themselves, their consents and their Patient resource do not hold it back.
 * - **An org admin** erases only a patient whose `Patient.managingOrganization` is the admin's organization (the
 *   token's `org`), and only with a second approval: the first admin's request (with a reason, kept in clear in
 *   records, never published) waits `ERASURE_REQUEST_TTL_MS` for another admin of the same organization, whose
 *   approval carries out the erasure. The same admin approving their own request is refused (409
 *   RECORDS.SECOND_APPROVAL_REQUIRED). An expired request is replaced by a new one.
 */
import type { ActorRole } from '@medledger/platform';

/** How long an admin's erasure request waits for a second admin. */
export const ERASURE_REQUEST_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** A reason is an administrative note (no clinical detail): long enough to mean something, short enough to log. */
export const ERASURE_REASON_LENGTH = { min: 10, max: 500 } as const;

export interface ErasureRequest {
  requestedBy: string;
  organization: string;
  reason: string;
  requestedAt: string;
}

/** The events of `Erasure-<patientId>`: ids, an org, a reason; stored in clear, they outlive the destroyed key. */
export type ErasureEvent =
  | { type: 'ErasureRequested'; data: ErasureRequest & { patientId: string } }
  | {
      type: 'PatientErased';
      data: {
        patientId: string;
        requestedBy: string;
        erasedAt: string;
        /** The second admin, for an organization's erasure. */
        approvedBy?: string;
        reason?: string;
      };
    };

export type ErasureState =
  | { status: 'none' }
  | { status: 'requested'; request: ErasureRequest }
  | { status: 'erased'; erasedAt: string };

export const NO_ERASURE: ErasureState = { status: 'none' };

export function evolveErasure(_state: ErasureState, event: ErasureEvent): ErasureState {
  switch (event.type) {
    case 'ErasureRequested': {
      const { patientId: _patientId, ...request } = event.data;
      return { status: 'requested', request };
    }
    case 'PatientErased':
      return { status: 'erased', erasedAt: event.data.erasedAt };
  }
}

export const ErasureErrorCode = {
  RETENTION_REQUIRED: 'RECORDS.RETENTION_REQUIRED',
  SECOND_APPROVAL_REQUIRED: 'RECORDS.SECOND_APPROVAL_REQUIRED',
  NOT_YOUR_ORGANIZATION: 'RECORDS.ACCESS_DENIED',
  INVALID_ERASURE: 'RECORDS.INVALID_ERASURE',
  ALREADY_ERASED: 'RECORDS.PATIENT_ERASED',
} as const;

export interface EraseCommand {
  patientId: string;
  actor: { reference: string; role: ActorRole; organization?: string };
  /** `Patient.managingOrganization.reference` of the record. */
  managingOrganization?: string;
  reason?: unknown;
  /** Entries of the record written by a practitioner or an org admin (or by no recorded author). */
  clinicalEntries: number;
  now: string;
}

export type ErasureDecision =
  | { kind: 'erase'; event: Extract<ErasureEvent, { type: 'PatientErased' }> }
  | { kind: 'request'; event: Extract<ErasureEvent, { type: 'ErasureRequested' }>; expiresAt: string }
  | { kind: 'refuse'; status: 400 | 403 | 409 | 410; code: string; detail: string };

export function decideErasure(state: ErasureState, command: EraseCommand): ErasureDecision {
  const { actor, patientId, now } = command;
  if (state.status === 'erased')
    return {
      kind: 'refuse',
      status: 410,
      code: ErasureErrorCode.ALREADY_ERASED,
      detail: `Patient/${patientId} was erased at ${state.erasedAt}`,
    };

  if (actor.role === 'patient' && actor.reference === `Patient/${patientId}`) {
    if (command.clinicalEntries > 0)
      return {
        kind: 'refuse',
        status: 409,
        code: ErasureErrorCode.RETENTION_REQUIRED,
        detail:
          `the record holds ${command.clinicalEntries} clinical ${command.clinicalEntries === 1 ? 'entry' : 'entries'} ` +
          'written by practitioners, which are retained (HIPAA §164.526: ask for an amendment; GDPR Art. 17(3)); ' +
          "where the law requires them erased, the organization's admins erase the record (two approvals)",
      };
    return {
      kind: 'erase',
      event: { type: 'PatientErased', data: { patientId, requestedBy: actor.reference, erasedAt: now } },
    };
  }

  if (actor.role !== 'org-admin')
    return {
      kind: 'refuse',
      status: 403,
      code: ErasureErrorCode.NOT_YOUR_ORGANIZATION,
      detail: "an erasure is asked by the patient, or carried out by two admins of the patient's organization",
    };
  if (!actor.organization || actor.organization !== command.managingOrganization)
    return {
      kind: 'refuse',
      status: 403,
      code: ErasureErrorCode.NOT_YOUR_ORGANIZATION,
      detail: command.managingOrganization
        ? `Patient/${patientId} is managed by another organization than the token's org (${actor.organization ?? 'none'})`
        : `Patient/${patientId} names no managing organization: only the patient may erase the record`,
    };
  const reason = typeof command.reason === 'string' ? command.reason.trim() : '';
  if (reason.length < ERASURE_REASON_LENGTH.min || reason.length > ERASURE_REASON_LENGTH.max)
    return {
      kind: 'refuse',
      status: 400,
      code: ErasureErrorCode.INVALID_ERASURE,
      detail: `an admin's erasure needs {"reason": "…"} of ${ERASURE_REASON_LENGTH.min} to ${ERASURE_REASON_LENGTH.max} characters (no clinical detail)`,
    };

  const pending =
    state.status === 'requested' &&
    state.request.organization === actor.organization &&
    Date.parse(state.request.requestedAt) + ERASURE_REQUEST_TTL_MS > Date.parse(now)
      ? state.request
      : undefined;
  if (pending && pending.requestedBy === actor.reference)
    return {
      kind: 'refuse',
      status: 409,
      code: ErasureErrorCode.SECOND_APPROVAL_REQUIRED,
      detail: `the erasure you asked for at ${pending.requestedAt} waits for another admin of ${actor.organization}`,
    };
  if (pending)
    return {
      kind: 'erase',
      event: {
        type: 'PatientErased',
        data: {
          patientId,
          requestedBy: pending.requestedBy,
          approvedBy: actor.reference,
          erasedAt: now,
          reason: pending.reason,
        },
      },
    };
  return {
    kind: 'request',
    event: {
      type: 'ErasureRequested',
      data: { patientId, requestedBy: actor.reference, organization: actor.organization, reason, requestedAt: now },
    },
    expiresAt: new Date(Date.parse(now) + ERASURE_REQUEST_TTL_MS).toISOString(),
  };
}

import {
  decideErasure,
  ERASURE_REQUEST_TTL_MS,
  evolveErasure,
  NO_ERASURE,
  type ErasureState,
  type EraseCommand,
} from './erasure';

const P = '6f1c3c0e-0a65-4c59-9a4b-0e4f3bd4a1a2';
const NOW = '2026-12-02T10:00:00.000Z';
const ORG = 'Organization/st-mary';
const ADMIN_1 = { reference: 'Practitioner/admin-1', role: 'org-admin' as const, organization: ORG };
const ADMIN_2 = { reference: 'Practitioner/admin-2', role: 'org-admin' as const, organization: ORG };
const REASON = 'court order 2026/118, erasure of the whole record';

function command(over: Partial<EraseCommand> = {}): EraseCommand {
  return {
    patientId: P,
    actor: { reference: `Patient/${P}`, role: 'patient' },
    managingOrganization: ORG,
    clinicalEntries: 0,
    now: NOW,
    ...over,
  };
}
const requested = (by = ADMIN_1.reference, at = NOW, organization = ORG): ErasureState => ({
  status: 'requested',
  request: { requestedBy: by, organization, reason: REASON, requestedAt: at },
});
const later = (ms: number) => new Date(Date.parse(NOW) + ms).toISOString();

describe('decideErasure', () => {
  it.each<[string, ErasureState, Partial<EraseCommand>, string]>([
    ['the patient, nothing written by clinicians', NO_ERASURE, {}, 'erase'],
    ['the patient, with a request of an admin pending', requested(), {}, 'erase'],
    [
      'the patient, clinical entries in the record',
      NO_ERASURE,
      { clinicalEntries: 3 },
      '409 RECORDS.RETENTION_REQUIRED',
    ],
    [
      'another patient',
      NO_ERASURE,
      { actor: { reference: 'Patient/other', role: 'patient' } },
      '403 RECORDS.ACCESS_DENIED',
    ],
    [
      'a practitioner',
      NO_ERASURE,
      { actor: { reference: 'Practitioner/dr', role: 'practitioner' } },
      '403 RECORDS.ACCESS_DENIED',
    ],
    ['an admin of the organization, first', NO_ERASURE, { actor: ADMIN_1, reason: REASON }, 'request'],
    [
      'an admin, clinical entries do not hold it back',
      NO_ERASURE,
      { actor: ADMIN_1, reason: REASON, clinicalEntries: 9 },
      'request',
    ],
    ['a second admin of the organization', requested(), { actor: ADMIN_2, reason: REASON }, 'erase'],
    ['the same admin again', requested(), { actor: ADMIN_1, reason: REASON }, '409 RECORDS.SECOND_APPROVAL_REQUIRED'],
    [
      'a second admin after the request expired',
      requested(ADMIN_1.reference, later(-ERASURE_REQUEST_TTL_MS - 1)),
      { actor: ADMIN_2, reason: REASON },
      'request',
    ],
    [
      'an admin of another organization',
      NO_ERASURE,
      { actor: { ...ADMIN_1, organization: 'Organization/other' }, reason: REASON },
      '403 RECORDS.ACCESS_DENIED',
    ],
    [
      'an admin without org in the token',
      NO_ERASURE,
      { actor: { reference: 'Organization/ops', role: 'org-admin' }, reason: REASON },
      '403 RECORDS.ACCESS_DENIED',
    ],
    [
      'an admin, the patient managed by nobody',
      NO_ERASURE,
      { actor: ADMIN_1, reason: REASON, managingOrganization: undefined },
      '403 RECORDS.ACCESS_DENIED',
    ],
    ['an admin without a reason', NO_ERASURE, { actor: ADMIN_1 }, '400 RECORDS.INVALID_ERASURE'],
    [
      'an admin with a reason too short',
      NO_ERASURE,
      { actor: ADMIN_1, reason: 'because' },
      '400 RECORDS.INVALID_ERASURE',
    ],
    [
      'an admin with a reason that is not text',
      NO_ERASURE,
      { actor: ADMIN_1, reason: { why: REASON } },
      '400 RECORDS.INVALID_ERASURE',
    ],
    ['anyone after the erasure', { status: 'erased', erasedAt: NOW }, {}, '410 RECORDS.PATIENT_ERASED'],
    [
      'an admin after the erasure',
      { status: 'erased', erasedAt: NOW },
      { actor: ADMIN_2, reason: REASON },
      '410 RECORDS.PATIENT_ERASED',
    ],
  ])('%s: %s', (_name, state, over, expected) => {
    const decision = decideErasure(state, command(over));
    expect(decision.kind === 'refuse' ? `${decision.status} ${decision.code}` : decision.kind).toBe(expected);
  });

  it('records who asked, who approved and why, and forgets nothing across the two steps', () => {
    const first = decideErasure(NO_ERASURE, command({ actor: ADMIN_1, reason: `  ${REASON}  ` }));
    if (first.kind !== 'request') throw new Error(first.kind);
    expect(first.event.data).toEqual({
      patientId: P,
      requestedBy: ADMIN_1.reference,
      organization: ORG,
      reason: REASON,
      requestedAt: NOW,
    });
    expect(first.expiresAt).toBe(later(ERASURE_REQUEST_TTL_MS));
    const state = evolveErasure(NO_ERASURE, first.event);
    const second = decideErasure(
      state,
      command({ actor: ADMIN_2, reason: 'approved after review', now: later(3_600_000) }),
    );
    if (second.kind !== 'erase') throw new Error(second.kind);
    expect(second.event.data).toEqual({
      patientId: P,
      requestedBy: ADMIN_1.reference,
      approvedBy: ADMIN_2.reference,
      erasedAt: later(3_600_000),
      reason: REASON,
    });
    expect(evolveErasure(state, second.event)).toEqual({ status: 'erased', erasedAt: later(3_600_000) });
  });

  it("says how many clinical entries hold a patient's erasure back, and where to go", () => {
    const decision = decideErasure(NO_ERASURE, command({ clinicalEntries: 1 }));
    expect(decision.kind === 'refuse' && decision.detail).toMatch(/1 clinical entry .*§164\.526.*two approvals/);
  });
});

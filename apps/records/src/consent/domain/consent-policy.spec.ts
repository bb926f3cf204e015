import {
  CONSENT_ACTION_SYSTEM,
  CONSENT_SCOPE_SYSTEM,
  decideAccess,
  PURPOSE_OF_USE_SYSTEM,
  RESOURCE_TYPE_SYSTEM,
  type AccessRequest,
  type Actor,
  type BreakGlassGrant,
  type ConsentProvision,
  type ConsentResource,
} from './consent-policy';

const PATIENT = 'Patient/p1';
const NOW = '2026-11-24T12:00:00.000Z';
const drSmith: Actor = { reference: 'Practitioner/smith', role: 'practitioner', organization: 'Organization/general' };
const drJones: Actor = { reference: 'Practitioner/jones', role: 'practitioner' };
const carer: Actor = { reference: 'RelatedPerson/daughter', role: 'related-person' };
const nurse: Actor = { reference: 'Practitioner/nurse', role: 'practitioner', organization: 'Organization/general' };

const action = (code: string) => ({ coding: [{ system: CONSENT_ACTION_SYSTEM, code }] });
const actor = (reference: string) => ({ reference: { reference } });

function consent(provision: ConsentProvision, overrides: Partial<ConsentResource> = {}): ConsentResource {
  return {
    resourceType: 'Consent',
    id: `c-${Math.random().toString(36).slice(2, 8)}`,
    status: 'active',
    scope: { coding: [{ system: CONSENT_SCOPE_SYSTEM, code: 'patient-privacy' }] },
    patient: { reference: PATIENT },
    provision,
    ...overrides,
  };
}

const permitSmith = consent({ type: 'permit', actor: [actor('Practitioner/smith')], action: [action('access')] });

function request(who: Actor, overrides: Partial<AccessRequest> = {}): AccessRequest {
  return { actor: who, patient: PATIENT, action: 'access', resourceType: 'Observation', now: NOW, ...overrides };
}

describe('decideAccess: the patient decides', () => {
  test.each<[string, AccessRequest, ConsentResource[], BreakGlassGrant[], boolean, string]>([
    ['the patient, always', request({ reference: PATIENT, role: 'patient' }), [], [], true, 'self'],
    ['anyone else, with no consent', request(drSmith), [], [], false, 'default-deny'],
    ['a permitted practitioner', request(drSmith), [permitSmith], [], true, 'consent'],
    ['a practitioner the consent does not name', request(drJones), [permitSmith], [], false, 'default-deny'],
    [
      'a permitted practitioner, wrong action',
      request(drSmith, { action: 'correct' }),
      [permitSmith],
      [],
      false,
      'default-deny',
    ],
    ['a revoked consent', request(drSmith), [{ ...permitSmith, status: 'inactive' }], [], false, 'default-deny'],
    [
      'an expired consent',
      request(drSmith),
      [consent({ ...permitSmith.provision, period: { end: '2026-11-01' } })],
      [],
      false,
      'default-deny',
    ],
    [
      'a consent not yet in force',
      request(drSmith),
      [consent({ ...permitSmith.provision, period: { start: '2027-01-01' } })],
      [],
      false,
      'default-deny',
    ],
    [
      'a consent whose period includes its end date',
      request(drSmith),
      [consent({ ...permitSmith.provision, period: { end: '2026-11-24' } })],
      [],
      true,
      'consent',
    ],
    [
      "another patient's consent",
      request(drSmith),
      [{ ...permitSmith, patient: { reference: 'Patient/p2' } }],
      [],
      false,
      'default-deny',
    ],
    [
      'a consent of another scope',
      request(drSmith),
      [{ ...permitSmith, scope: { coding: [{ system: CONSENT_SCOPE_SYSTEM, code: 'research' }] } }],
      [],
      false,
      'default-deny',
    ],
    [
      'a caregiver (related person) the patient named',
      request(carer),
      [consent({ type: 'permit', actor: [actor('RelatedPerson/daughter')] })],
      [],
      true,
      'consent',
    ],
    [
      'a member of a permitted organization',
      request(nurse),
      [consent({ type: 'permit', actor: [actor('Organization/general')] })],
      [],
      true,
      'consent',
    ],
    [
      'an explicit deny beats a permit',
      request(drSmith),
      [permitSmith, consent({ type: 'deny', actor: [actor('Practitioner/smith')] })],
      [],
      false,
      'consent-deny',
    ],
    [
      'a nested deny for one class (exception to a permit)',
      request(drSmith, { resourceType: 'DocumentReference' }),
      [
        consent({
          type: 'permit',
          actor: [actor('Practitioner/smith')],
          provision: [{ type: 'deny', class: [{ system: RESOURCE_TYPE_SYSTEM, code: 'DocumentReference' }] }],
        }),
      ],
      [],
      false,
      'consent-deny',
    ],
    [
      'the same consent, another class',
      request(drSmith, { resourceType: 'Observation' }),
      [
        consent({
          type: 'permit',
          actor: [actor('Practitioner/smith')],
          provision: [{ type: 'deny', class: [{ system: RESOURCE_TYPE_SYSTEM, code: 'DocumentReference' }] }],
        }),
      ],
      [],
      true,
      'consent',
    ],
    [
      'a purpose-bound permit, purpose given',
      request(drSmith, { purpose: 'TREAT' }),
      [
        consent({
          type: 'permit',
          actor: [actor('Practitioner/smith')],
          purpose: [{ system: PURPOSE_OF_USE_SYSTEM, code: 'TREAT' }],
        }),
      ],
      [],
      true,
      'consent',
    ],
    [
      'a purpose-bound permit, other purpose',
      request(drSmith, { purpose: 'HPAYMT' }),
      [
        consent({
          type: 'permit',
          actor: [actor('Practitioner/smith')],
          purpose: [{ system: PURPOSE_OF_USE_SYSTEM, code: 'TREAT' }],
        }),
      ],
      [],
      false,
      'default-deny',
    ],
    [
      'break-glass within its window',
      request(drJones),
      [],
      [
        {
          actor: 'Practitioner/jones',
          patient: PATIENT,
          until: '2026-11-24T13:00:00.000Z',
          reason: 'unconscious in ER',
        },
      ],
      true,
      'break-glass',
    ],
    [
      'break-glass overrides a deny, for reading',
      request(drJones),
      [consent({ type: 'deny', actor: [actor('Practitioner/jones')] })],
      [{ actor: 'Practitioner/jones', patient: PATIENT, until: '2026-11-24T13:00:00.000Z', reason: 'ER' }],
      true,
      'break-glass',
    ],
    [
      'break-glass after its window',
      request(drJones),
      [],
      [{ actor: 'Practitioner/jones', patient: PATIENT, until: '2026-11-24T11:59:59.999Z', reason: 'ER' }],
      false,
      'default-deny',
    ],
    [
      'break-glass never permits correction',
      request(drJones, { action: 'correct' }),
      [],
      [{ actor: 'Practitioner/jones', patient: PATIENT, until: '2026-11-24T13:00:00.000Z', reason: 'ER' }],
      false,
      'default-deny',
    ],
    [
      'break-glass of another practitioner',
      request(drSmith),
      [],
      [{ actor: 'Practitioner/jones', patient: PATIENT, until: '2026-11-24T13:00:00.000Z', reason: 'ER' }],
      false,
      'default-deny',
    ],
  ])('%s', (_name, req, consents, grants, permit, basis) => {
    expect(decideAccess(req, consents, grants)).toMatchObject({ permit, basis });
  });

  it('names the consent that decided', () => {
    expect(decideAccess(request(drSmith), [permitSmith])).toEqual({
      permit: true,
      basis: 'consent',
      consentId: permitSmith.id,
    });
  });
});

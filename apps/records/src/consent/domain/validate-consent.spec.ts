import { validateConsent } from './validate-consent';

const valid = {
  resourceType: 'Consent',
  status: 'active',
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
  category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
  patient: { reference: 'Patient/p1' },
  policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
  provision: {
    type: 'deny',
    period: { start: '2026-01-01', end: '2026-12-31' },
    provision: [
      {
        type: 'permit',
        actor: [{ role: { coding: [{ code: 'IRCP' }] }, reference: { reference: 'Practitioner/a' } }],
        action: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }] }],
        class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Observation' }],
      },
    ],
  },
};

describe('validateConsent', () => {
  it('accepts a patient-privacy consent with nested provisions', () => {
    expect(validateConsent(valid)).toMatchObject({ ok: true });
  });

  const deep = (depth: number): Record<string, unknown> => (depth === 0 ? {} : { provision: [deep(depth - 1)] });
  test.each<[string, Record<string, unknown>, string]>([
    ['a missing status', { status: undefined }, 'Consent.status'],
    ['an unknown status', { status: 'revoked' }, 'Consent.status'],
    ['another scope', { scope: { coding: [{ code: 'research' }] } }, 'Consent.scope'],
    ['no category', { category: [] }, 'Consent.category'],
    ['no patient (ppc-2)', { patient: undefined }, 'Consent.patient'],
    ['a non-local patient', { patient: { reference: 'https://elsewhere/Patient/1' } }, 'Consent.patient.reference'],
    ['neither policy nor policyRule (ppc-1)', { policyRule: undefined }, 'Consent'],
    ['a provision type outside permit/deny', { provision: { type: 'maybe' } }, 'Consent.provision.type'],
    [
      'a period ending before it starts',
      { provision: { period: { start: '2027', end: '2026' } } },
      'Consent.provision.period',
    ],
    [
      'an actor without a role',
      { provision: { actor: [{ reference: { reference: 'Practitioner/a' } }] } },
      'Consent.provision.actor[0].role',
    ],
    [
      'provisions nested too deep',
      { provision: deep(12) },
      'Consent.provision.provision[0].provision[0].provision[0].provision[0].provision[0].provision[0].provision[0].provision[0]',
    ],
  ])('refuses %s, naming the element', (_name, change, expression) => {
    const result = validateConsent({ ...valid, ...change });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.outcome.issue.flatMap((i) => i.expression ?? [])).toContain(expression);
  });
});

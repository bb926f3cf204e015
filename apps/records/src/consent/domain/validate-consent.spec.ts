import { validateConsent } from './validate-consent';

const valid = {
  resourceType: 'Consent',
  status: 'active',
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
  category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
  patient: { reference: 'Patient/p1' },
  policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
  provision: {
    period: { start: '2026-01-01', end: '2026-12-31' },
    dataPeriod: { start: '2020-01-01' },
    data: [{ meaning: 'related', reference: { reference: 'DiagnosticReport/r1' } }],
    provision: [
      {
        type: 'permit',
        actor: [
          {
            role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
            reference: { reference: 'Practitioner/a' },
          },
        ],
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
    ['a nested provision without a type', { provision: { provision: [{}] } }, 'Consent.provision.provision[0].type'],
    ['an element Consent.provision does not have', { provision: { recipient: [] } }, 'Consent.provision.recipient'],
    [
      'a data reference outside the record',
      { provision: { data: [{ meaning: 'instance', reference: { reference: 'https://x/Observation/1' } }] } },
      'Consent.provision.data[0].reference.reference',
    ],
    [
      'a data meaning outside R4',
      { provision: { data: [{ meaning: 'everything', reference: { reference: 'Observation/1' } }] } },
      'Consent.provision.data[0].meaning',
    ],
  ])('refuses %s with 400, naming the element', (_name, change, expression) => {
    const result = validateConsent({ ...valid, ...change });
    expect(result).toMatchObject({ ok: false, status: 400 });
    if (!result.ok) expect(result.outcome.issue.flatMap((i) => i.expression ?? [])).toContain(expression);
  });

  const root = (extra: Record<string, unknown>) => ({ provision: { ...valid.provision, ...extra } });
  const role = (code: string) => ({
    role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code }] },
    reference: { reference: 'Organization/o' },
  });
  const actionOf = (code: string, system = 'http://terminology.hl7.org/CodeSystem/consentaction') => ({
    coding: [{ system, code }],
  });
  test.each<[string, Record<string, unknown>, string, string]>([
    [
      'securityLabel',
      root({ securityLabel: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] }),
      'Consent.provision.securityLabel',
      'not-supported',
    ],
    [
      'code',
      root({ code: [{ coding: [{ system: 'http://loinc.org', code: '34133-9' }] }] }),
      'Consent.provision.code',
      'not-supported',
    ],
    [
      'a modifierExtension',
      root({ modifierExtension: [{ url: 'urn:x', valueBoolean: true }] }),
      'Consent.provision.modifierExtension',
      'not-supported',
    ],
    [
      'a modifierExtension on an actor',
      root({ actor: [{ ...role('IRCP'), modifierExtension: [{ url: 'urn:x', valueBoolean: true }] }] }),
      'Consent.provision.actor[0].modifierExtension',
      'not-supported',
    ],
    [
      'data meaning authoredby',
      root({ data: [{ meaning: 'authoredby', reference: { reference: 'Practitioner/a' } }] }),
      'Consent.provision.data[0].meaning',
      'not-supported',
    ],
    ['a custodian actor (CST)', root({ actor: [role('CST')] }), 'Consent.provision.actor[0].role', 'not-supported'],
    ['an author actor (AUT)', root({ actor: [role('AUT')] }), 'Consent.provision.actor[0].role', 'not-supported'],
    [
      'an actor records cannot match with who asks (a CareTeam)',
      root({ actor: [{ ...role('IRCP'), reference: { reference: 'CareTeam/ct1' } }] }),
      'Consent.provision.actor[0].reference',
      'not-supported',
    ],
    ['the action disclose', root({ action: [actionOf('disclose')] }), 'Consent.provision.action[0]', 'not-supported'],
    ['the action use', root({ action: [actionOf('use')] }), 'Consent.provision.action[0]', 'not-supported'],
    [
      'an action of another system',
      root({ action: [actionOf('read', 'urn:x')] }),
      'Consent.provision.action[0]',
      'not-supported',
    ],
    [
      'a class that is no resource type',
      root({ class: [{ system: 'urn:ietf:bcp:13', code: 'application/hl7-cda+xml' }] }),
      'Consent.provision.class[0]',
      'not-supported',
    ],
    [
      'a purpose of another system',
      root({ purpose: [{ system: 'urn:x', code: 'TREAT' }] }),
      'Consent.provision.purpose[0]',
      'not-supported',
    ],
    [
      'a policyRule records has no base rule for',
      { policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMPLIED' }] } },
      'Consent.policyRule',
      'not-supported',
    ],
    [
      'a policy document instead of a policyRule',
      { policyRule: undefined, policy: [{ uri: 'https://example.org/policy' }] },
      'Consent.policyRule',
      'not-supported',
    ],
    [
      'a root type repeating the base rule (OPTIN, permit)',
      root({ type: 'permit' }),
      'Consent.provision.type',
      'business-rule',
    ],
    ['another scope', { scope: { coding: [{ code: 'research' }] } }, 'Consent.scope', 'not-supported'],
  ])('refuses %s with 422, naming the element', (_name, change, expression, code) => {
    const result = validateConsent({ ...valid, ...change });
    expect(result).toMatchObject({ ok: false, status: 422 });
    if (!result.ok)
      expect(result.outcome.issue).toContainEqual(expect.objectContaining({ code, expression: [expression] }));
  });

  it('accepts a root type that is the exception to the base (OPTIN, deny)', () => {
    expect(validateConsent({ ...valid, ...root({ type: 'deny' }) })).toMatchObject({ ok: true });
  });
});

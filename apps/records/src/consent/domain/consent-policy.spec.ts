import {
  CONSENT_ACTION_SYSTEM,
  CONSENT_SCOPE_SYSTEM,
  decideAccess,
  PARTICIPATION_TYPE_SYSTEM,
  POLICY_RULE_SYSTEM,
  PURPOSE_OF_USE_SYSTEM,
  RESOURCE_TYPE_SYSTEM,
  type AccessRequest,
  type Actor,
  type BreakGlassGrant,
  type ConsentProvision,
  type ConsentResource,
  type RelatedData,
} from './consent-policy';
import type { RequestedData } from './requested-data';

const PATIENT = 'Patient/p1';
const NOW = '2026-11-24T12:00:00.000Z';
const drSmith: Actor = { reference: 'Practitioner/smith', role: 'practitioner', organization: 'Organization/general' };
const drJones: Actor = { reference: 'Practitioner/jones', role: 'practitioner' };
const carer: Actor = { reference: 'RelatedPerson/daughter', role: 'related-person' };
const nurse: Actor = { reference: 'Practitioner/nurse', role: 'practitioner', organization: 'Organization/general' };

const action = (code: string) => ({ coding: [{ system: CONSENT_ACTION_SYSTEM, code }] });
const role = (code: string) => ({ coding: [{ system: PARTICIPATION_TYPE_SYSTEM, code }] });
/** An actor as R4 writes one: the information recipient (IRCP) and who it is. */
const actor = (reference: string, as = 'IRCP') => ({ role: role(as), reference: { reference } });
const policy = (code: string) => ({ coding: [{ system: POLICY_RULE_SYSTEM, code }] });

/**
 * A consent as R4 reads it: the base rule from `policyRule`, the root provision an exception to it. By default the
 * policy that makes the root provision mean what its type says: OPTOUT for a permit, OPTIN for a deny.
 */
function consent(provision: ConsentProvision, overrides: Partial<ConsentResource> = {}): ConsentResource {
  const { type, ...exception } = provision;
  return {
    resourceType: 'Consent',
    id: `c-${Math.random().toString(36).slice(2, 8)}`,
    status: 'active',
    scope: { coding: [{ system: CONSENT_SCOPE_SYSTEM, code: 'patient-privacy' }] },
    patient: { reference: PATIENT },
    policyRule: policy(type === 'deny' ? 'OPTIN' : 'OPTOUT'),
    provision: exception,
    ...overrides,
  };
}

const permitSmith = consent({ type: 'permit', actor: [actor('Practitioner/smith')], action: [action('access')] });

function request(who: Actor, overrides: Partial<AccessRequest> = {}): AccessRequest {
  return { actor: who, patient: PATIENT, action: 'access', resourceType: 'Observation', now: NOW, ...overrides };
}

describe('decideAccess: the patient decides', () => {
  // The permits below are OPTOUT consents with one exception: outside it they deny (basis consent-deny).
  test.each<[string, AccessRequest, ConsentResource[], BreakGlassGrant[], boolean, string]>([
    ['the patient, always', request({ reference: PATIENT, role: 'patient' }), [], [], true, 'self'],
    ['anyone else, with no consent', request(drSmith), [], [], false, 'default-deny'],
    ['a permitted practitioner', request(drSmith), [permitSmith], [], true, 'consent'],
    ['a practitioner the consent does not name', request(drJones), [permitSmith], [], false, 'consent-deny'],
    [
      'a permitted practitioner, wrong action',
      request(drSmith, { action: 'correct' }),
      [permitSmith],
      [],
      false,
      'consent-deny',
    ],
    ['a revoked consent', request(drSmith), [{ ...permitSmith, status: 'inactive' }], [], false, 'default-deny'],
    [
      'an expired consent',
      request(drSmith),
      [consent({ ...permitSmith.provision, period: { end: '2026-11-01' } })],
      [],
      false,
      'consent-deny',
    ],
    [
      'a consent not yet in force',
      request(drSmith),
      [consent({ ...permitSmith.provision, period: { start: '2027-01-01' } })],
      [],
      false,
      'consent-deny',
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
      'consent-deny',
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

const at = (reference: string, span: [string, string], references: string[] = []): RequestedData => ({
  reference,
  references,
  span: { start: Date.parse(span[0]), end: Date.parse(span[1]) },
});
const o1 = at('Observation/o1', ['2020-06-01T08:00:00Z', '2020-06-01T08:00:00.001Z']);
const o2 = at('Observation/o2', ['2021-03-01T08:00:00Z', '2021-03-01T08:00:00.001Z']);
/** A consent of base rule `rule` whose root provision (an exception to it) is `p`, or that has none. */
function bare(p: ConsentProvision | undefined, rule: string): ConsentResource {
  const { provision: _, ...rest } = consent({});
  return { ...rest, policyRule: policy(rule), ...(p && { provision: p }) };
}

describe('decideAccess: the base rule is the policyRule (R4), the root provision an exception to it', () => {
  test.each<[string, AccessRequest, ConsentResource[], boolean, string]>([
    ['OPTIN alone: practitioners may read', request(drSmith), [bare(undefined, 'OPTIN')], true, 'consent'],
    ['OPTINR alone, likewise', request(drSmith), [bare(undefined, 'OPTINR')], true, 'consent'],
    [
      'OPTIN alone: a base permit is for reading only',
      request(drSmith, { action: 'correct' }),
      [bare(undefined, 'OPTIN')],
      false,
      'default-deny',
    ],
    [
      'OPTIN alone: a base permit is for care providers',
      request(carer),
      [bare(undefined, 'OPTIN')],
      false,
      'default-deny',
    ],
    ['OPTOUT alone: nobody', request(drSmith), [bare(undefined, 'OPTOUT')], false, 'consent-deny'],
    ['OPTOUTE alone, likewise', request(drSmith), [bare(undefined, 'OPTOUTE')], false, 'consent-deny'],
    [
      'OPTOUT with an exception naming Smith: Smith',
      request(drSmith),
      [bare({ actor: [actor('Practitioner/smith')] }, 'OPTOUT')],
      true,
      'consent',
    ],
    [
      'OPTOUT with an exception naming Smith: not Jones',
      request(drJones),
      [bare({ actor: [actor('Practitioner/smith')] }, 'OPTOUT')],
      false,
      'consent-deny',
    ],
    [
      'OPTIN with an exception naming Jones: not Jones',
      request(drJones),
      [bare({ actor: [actor('Practitioner/jones')] }, 'OPTIN')],
      false,
      'consent-deny',
    ],
    [
      'OPTIN with an exception naming Jones: Smith',
      request(drSmith),
      [bare({ actor: [actor('Practitioner/jones')] }, 'OPTIN')],
      true,
      'consent',
    ],
    [
      'OPTOUT, an exception naming nobody: care providers only',
      request(carer),
      [bare({ class: [{ system: RESOURCE_TYPE_SYSTEM, code: 'Observation' }] }, 'OPTOUT')],
      false,
      'consent-deny',
    ],
    [
      'a root type repeating the base, stored before it was refused, keeps its meaning (Smith)',
      request(drSmith),
      [bare({ type: 'permit', actor: [actor('Practitioner/smith')] }, 'OPTIN')],
      true,
      'consent',
    ],
    [
      'a root type repeating the base, stored before it was refused, opens nothing else (Jones)',
      request(drJones),
      [bare({ type: 'permit', actor: [actor('Practitioner/smith')] }, 'OPTIN')],
      false,
      'default-deny',
    ],
    [
      'an explicit permit outweighs another consent’s base deny',
      request(drSmith),
      [bare(undefined, 'OPTOUT'), bare({ actor: [actor('Practitioner/smith')] }, 'OPTOUT')],
      true,
      'consent',
    ],
    [
      'a base deny outweighs another consent’s base permit',
      request(drSmith),
      [bare(undefined, 'OPTIN'), bare(undefined, 'OPTOUT')],
      false,
      'consent-deny',
    ],
  ])('%s', (_name, req, consents, permit, basis) => {
    expect(decideAccess(req, consents)).toMatchObject({ permit, basis });
  });
});

describe('decideAccess: any applicable deny wins, whatever the order', () => {
  const observations = [{ system: RESOURCE_TYPE_SYSTEM, code: 'Observation' }];
  const deny: ConsentProvision = { type: 'deny', class: observations };
  const permit: ConsentProvision = { type: 'permit', class: observations };
  test.each<[string, ConsentProvision[], boolean]>([
    ['deny then permit', [deny, permit], false],
    ['permit then deny', [permit, deny], false],
    ['a deny nested in a permit sibling', [{ ...permit, provision: [deny] }, permit], false],
  ])('sibling provisions: %s', (_name, nested, permitted) => {
    const c = bare({ actor: [actor('Practitioner/smith')], provision: nested }, 'OPTOUT');
    expect(decideAccess(request(drSmith), [c]).permit).toBe(permitted);
  });

  it('a deny among sibling consents wins whatever their order', () => {
    const permitting = bare({ actor: [actor('Practitioner/smith')] }, 'OPTOUT');
    const denying = bare({ actor: [actor('Practitioner/smith')] }, 'OPTIN');
    expect(decideAccess(request(drSmith), [denying, permitting])).toMatchObject({ permit: false });
    expect(decideAccess(request(drSmith), [permitting, denying])).toMatchObject({ permit: false });
  });
});

describe('decideAccess: data and dataPeriod bind a rule to data', () => {
  const smith = [actor('Practitioner/smith')];
  const only = (meaning: string, reference: string) => [{ meaning, reference: { reference } }];
  // DocumentReference/d1 refers to Observation/o1 (and its patient), as the caller finds in the record.
  const related: RelatedData = new Map([['DocumentReference/d1', ['Observation/o1', PATIENT]]]);
  const basedOnOrder = at('Observation/o3', ['2020-06-01', '2020-06-02'], ['ServiceRequest/sr1', PATIENT]);
  test.each<[string, ConsentResource, RequestedData | undefined, boolean, string]>([
    [
      'a permit of one instance: that one',
      bare({ actor: smith, data: only('instance', 'Observation/o1') }, 'OPTOUT'),
      o1,
      true,
      'consent',
    ],
    [
      'a permit of one instance: not another',
      bare({ actor: smith, data: only('instance', 'Observation/o1') }, 'OPTOUT'),
      o2,
      false,
      'consent-deny',
    ],
    [
      'a permit of one instance: a search may start',
      bare({ actor: smith, data: only('instance', 'Observation/o1') }, 'OPTOUT'),
      undefined,
      true,
      'consent',
    ],
    [
      'a deny of one instance: that one',
      bare({ data: only('instance', 'Observation/o1') }, 'OPTIN'),
      o1,
      false,
      'consent-deny',
    ],
    [
      'a deny of one instance: another',
      bare({ data: only('instance', 'Observation/o1') }, 'OPTIN'),
      o2,
      true,
      'consent',
    ],
    [
      'a deny of one instance: a search may start',
      bare({ data: only('instance', 'Observation/o1') }, 'OPTIN'),
      undefined,
      true,
      'consent',
    ],
    [
      'related: what the named resource refers to',
      bare({ data: only('related', 'DocumentReference/d1') }, 'OPTIN'),
      o1,
      false,
      'consent-deny',
    ],
    [
      'related: not what it does not refer to',
      bare({ data: only('related', 'DocumentReference/d1') }, 'OPTIN'),
      o2,
      true,
      'consent',
    ],
    [
      'dependents: what refers to the named resource',
      bare({ data: only('dependents', 'ServiceRequest/sr1') }, 'OPTIN'),
      basedOnOrder,
      false,
      'consent-deny',
    ],
    [
      'dependents: not what does not',
      bare({ data: only('dependents', 'ServiceRequest/sr1') }, 'OPTIN'),
      o1,
      true,
      'consent',
    ],
    [
      'a permit of 2020’s data: data of 2020',
      bare({ actor: smith, dataPeriod: { start: '2020-01-01', end: '2020-12-31' } }, 'OPTOUT'),
      o1,
      true,
      'consent',
    ],
    [
      'a permit of 2020’s data: not 2021’s',
      bare({ actor: smith, dataPeriod: { start: '2020-01-01', end: '2020-12-31' } }, 'OPTOUT'),
      o2,
      false,
      'consent-deny',
    ],
    [
      'a permit of 2020’s data: not data reaching into 2021',
      bare({ actor: smith, dataPeriod: { start: '2020-01-01', end: '2020-12-31' } }, 'OPTOUT'),
      at('Observation/o4', ['2020-12-30', '2021-01-02']),
      false,
      'consent-deny',
    ],
    [
      'a deny of 2020’s data: data of 2020',
      bare({ dataPeriod: { start: '2020-01-01', end: '2020-12-31' } }, 'OPTIN'),
      o1,
      false,
      'consent-deny',
    ],
    [
      'a deny of 2020’s data: data that only touches 2020',
      bare({ dataPeriod: { start: '2020-01-01', end: '2020-12-31' } }, 'OPTIN'),
      at('Observation/o4', ['2019-12-30', '2020-01-02']),
      false,
      'consent-deny',
    ],
    [
      'a deny of 2020’s data: data of 2021',
      bare({ dataPeriod: { start: '2020-01-01', end: '2020-12-31' } }, 'OPTIN'),
      o2,
      true,
      'consent',
    ],
  ])('%s', (_name, c, data, permit, basis) => {
    expect(decideAccess(request(drSmith, data ? { data } : {}), [c], [], related)).toMatchObject({ permit, basis });
  });
});

describe('decideAccess: actor.role is evaluated', () => {
  test.each<[string, ConsentResource, Actor, boolean, string]>([
    [
      'a permit for a recipient (IRCP)',
      bare({ actor: [actor('Practitioner/smith', 'IRCP')] }, 'OPTOUT'),
      drSmith,
      true,
      'consent',
    ],
    [
      'a permit for the primary recipient (PRCP)',
      bare({ actor: [actor('Practitioner/smith', 'PRCP')] }, 'OPTOUT'),
      drSmith,
      true,
      'consent',
    ],
    [
      'a permit naming an author (AUT) grants the author nothing',
      bare({ actor: [actor('Practitioner/smith', 'AUT')] }, 'OPTOUT'),
      drSmith,
      false,
      'consent-deny',
    ],
    [
      'a permit whose role has no system grants nothing',
      bare(
        { actor: [{ role: { coding: [{ code: 'IRCP' }] }, reference: { reference: 'Practitioner/smith' } }] },
        'OPTOUT',
      ),
      drSmith,
      false,
      'consent-deny',
    ],
    [
      'a deny naming its actor in any role still denies',
      bare({ actor: [actor('Practitioner/smith', 'CST')] }, 'OPTIN'),
      drSmith,
      false,
      'consent-deny',
    ],
  ])('%s', (_name, c, who, permit, basis) => {
    expect(decideAccess(request(who), [c])).toMatchObject({ permit, basis });
  });

  it('a purpose-bound deny covers a request that declares no purpose; a purpose-bound permit does not', () => {
    const marketing = [{ system: PURPOSE_OF_USE_SYSTEM, code: 'HMARKT' }];
    const deny = bare({ actor: [actor('Practitioner/smith')], purpose: marketing }, 'OPTIN');
    const permit = bare({ actor: [actor('Practitioner/smith')], purpose: marketing }, 'OPTOUT');
    expect(decideAccess(request(drSmith), [deny])).toMatchObject({ permit: false, basis: 'consent-deny' });
    expect(decideAccess(request(drSmith, { purpose: 'TREAT' }), [deny])).toMatchObject({ permit: true });
    expect(decideAccess(request(drSmith), [permit])).toMatchObject({ permit: false });
  });

  it('a stored permit of disclose only does not permit reading', () => {
    const c = bare({ actor: [actor('Practitioner/smith')], action: [action('disclose')] }, 'OPTOUT');
    expect(decideAccess(request(drSmith), [c])).toMatchObject({ permit: false });
  });
});

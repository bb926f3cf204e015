import { readPackageFile } from '../../fhir/definitions/package-files';
import { decideAccess, type AccessRequest, type Actor, type ConsentResource } from './consent-policy';
import { referencesIn, type RequestedData } from './requested-data';
import { validateConsent } from './validate-consent';

/**
 * HL7's own R4 Consent examples (hl7.org/fhir/R4/consent-examples.html), read from the pinned package
 * `hl7.fhir.r4.examples@4.0.1`, mean under records' rules what they say (ADR 0007, "Consent semantics"). Each
 * privacy example's narrative is quoted in short beside it. The "not…" examples describe Canada's implied-consent
 * (withhold) scenarios and are encoded with OPTIN: OPTIN is the base permit, and their root provision (no type, as R4
 * requires) is the exception that withholds. Those that rest on elements records does not evaluate are refused
 * with 422, never read loosely.
 */
const example = (id: string) => readPackageFile(`Consent-consent-example-${id}.json`) as ConsentResource;

const NOW = '2026-11-24T12:00:00.000Z';
const anyDoctor: Actor = { reference: 'Practitioner/any', role: 'practitioner' };
const data = (reference: string, when = '2026-11-20T08:00:00Z', references: string[] = []): RequestedData => ({
  reference,
  references,
  span: { start: Date.parse(when), end: Date.parse(when) + 1 },
});
function ask(consent: ConsentResource, who: Actor, what: RequestedData, overrides: Partial<AccessRequest> = {}) {
  const request: AccessRequest = {
    actor: who,
    patient: consent.patient?.reference ?? '',
    action: 'access',
    resourceType: what.reference.split('/')[0] ?? '',
    data: what,
    now: NOW,
    ...overrides,
  };
  // notThis names Task/example3: what it refers to comes from the same package, as records finds it in a record.
  const task = readPackageFile('Task-example3.json');
  return decideAccess(request, [consent], [], new Map([['Task/example3', referencesIn(task)]]));
}

describe("HL7's R4 Consent examples records evaluates", () => {
  it.each(['basic', 'notThis', 'notTime', 'notOrg', 'notThem', 'smartonfhir'])('accepts consent-example-%s', (id) => {
    expect(validateConsent(example(id))).toMatchObject({ ok: true });
  });

  test.each<[string, string, Actor, RequestedData, Partial<AccessRequest>, boolean]>([
    // "Authorize Normal access for Treatment: P. van de Heuvel wishes to have all of the PHI collected at the Good
    // Health Psychiatric Hospital available for normal treatment use." OPTIN; its provision.period (1964–2016, "the
    // timeframe in this rule is valid") makes an exception for a time that had ended when it was signed.
    ['basic: a care provider reads the record', 'basic', anyDoctor, data('Observation/o1'), {}, true],
    [
      'basic: a related person is no care provider',
      'basic',
      { reference: 'RelatedPerson/r', role: 'related-person' },
      data('Observation/o1'),
      {},
      false,
    ],
    // "…withhold consent to disclose the order and all results associated with that specific order from all other
    // providers": data related Task/example3 (the refill order and what it refers to: MedicationRequest/medrx002).
    ['notThis: the order is withheld', 'notThis', anyDoctor, data('Task/example3'), {}, false],
    [
      'notThis: what the order refers to is withheld',
      'notThis',
      anyDoctor,
      data('MedicationRequest/medrx002'),
      {},
      false,
    ],
    ['notThis: the rest of the record is not', 'notThis', anyDoctor, data('Observation/o1'), {}, true],
    // "…wishes to withhold disclosure of all data from a timeframe to any provider", encoded as provision.period
    // (2015-01-01 to 2015-02-01): R4 makes that the rule's own time, so disclosure is withheld during it.
    [
      'notTime: withheld during its timeframe',
      'notTime',
      anyDoctor,
      data('Observation/o1'),
      { now: '2015-01-15T10:00:00Z' },
      false,
    ],
    ['notTime: not outside it', 'notTime', anyDoctor, data('Observation/o1'), {}, true],
    // "…withdraw/withhold consent to disclose any instance of his health information to Good Health Clinic":
    // a deny for Organization/f001 (its root type, deny, is the exception OPTIN allows).
    [
      'notOrg: a practitioner of Good Health Clinic is refused',
      'notOrg',
      { ...anyDoctor, organization: 'Organization/f001' },
      data('Observation/o1'),
      {},
      false,
    ],
    ['notOrg: another practitioner is not', 'notOrg', anyDoctor, data('Observation/o1'), {}, true],
    // "…she does not want her ex-spouse to have any access to her IIHI": Practitioner/f204, access and correct.
    [
      'notThem: the ex-spouse nurse is refused',
      'notThem',
      { reference: 'Practitioner/f204', role: 'practitioner' },
      data('Observation/o1'),
      {},
      false,
    ],
    ['notThem: another practitioner is not', 'notThem', anyDoctor, data('Observation/o1'), {}, true],
    // No narrative beyond its elements: OPTIN, and for the 30 minutes of 2016-06-23 17:02:33+10:00 an exception
    // that withholds everything but MedicationRequest.
    [
      'smartonfhir: during its window, MedicationRequest',
      'smartonfhir',
      anyDoctor,
      data('MedicationRequest/m1'),
      { now: '2016-06-23T07:10:00Z' },
      true,
    ],
    [
      'smartonfhir: during its window, nothing else',
      'smartonfhir',
      anyDoctor,
      data('Observation/o1'),
      { now: '2016-06-23T07:10:00Z' },
      false,
    ],
  ])('%s', (_name, id, who, what, overrides, permit) => {
    expect(ask(example(id), who, what, overrides).permit).toBe(permit);
  });
});

describe('what notTime says in words, written with dataPeriod', () => {
  // The same consent with its timeframe as R4's "timeframe for data controlled by this rule": the data of January
  // 2015 is withheld from every provider, whenever they ask; the rest is not.
  const { period, ...provision } = example('notTime').provision ?? {};
  const withDataPeriod: ConsentResource = { ...example('notTime'), provision: { ...provision, dataPeriod: period } };
  const january2015 = data('Observation/o1', '2015-01-15T10:00:00Z');

  it('is valid', () => expect(validateConsent(withDataPeriod)).toMatchObject({ ok: true }));
  it('withholds the data of its timeframe', () =>
    expect(ask(withDataPeriod, anyDoctor, january2015).permit).toBe(false));
  it('not other data', () => expect(ask(withDataPeriod, anyDoctor, data('Observation/o2')).permit).toBe(true));
});

describe("HL7's R4 Consent examples records refuses, naming what it does not evaluate", () => {
  test.each<[string, number, string]>([
    // "…withhold or withdraw consent for disclosure of records that were authored by a specific organization":
    // the actor is the data's custodian (CST), which records cannot tell from a resource.
    ['notAuthor', 422, 'Consent.provision.actor[0].role'],
    // "…no data at the Good Health Psychiatric Hospital available": custodian (CST) again.
    ['Out', 422, 'Consent.provision.actor[0].role'],
    ['grantor', 422, 'Consent.provision.actor[0].role'],
    ['Emergency', 422, 'Consent.provision.actor[0].role'],
    // A security-label driven consent (Patients Know Best), whose nested provisions also lack the type R4 requires.
    ['pkb', 400, 'Consent.provision.securityLabel'],
    // CDA documents by MIME type and LOINC code, from an author (AUT).
    ['signature', 422, 'Consent.provision.provision[0].code'],
  ])('consent-example-%s: %d, naming %s', (id, status, expression) => {
    const result = validateConsent(example(id));
    expect(result).toMatchObject({ ok: false, status });
    if (!result.ok) {
      const issue = result.outcome.issue.find((i) => i.expression?.includes(expression));
      expect(issue?.code).toBe('not-supported');
    }
  });
});

import { testAuth, uniqueSuffix, type RunningService } from '@medledger/testing';
import { readPackageFile } from '../src/fhir/definitions/package-files';
import { startRecords } from './records-service';

/**
 * Consents that mean exactly what the patient wrote (FHIR R4 Consent; ADR 0007 "Consent semantics"), through the
 * FHIR API with Kafka and PostgreSQL real: a permit bound to one resource, to related data or to a data period opens
 * only that; a deny wins over a sibling permit whatever the order; the base rule is the policyRule's, as HL7's own
 * examples use it; and what records does not evaluate is refused with 422 when written.
 */
describe('records: consent semantics', () => {
  const auth = testAuth('records');
  let records: RunningService;

  beforeAll(async () => {
    records = await startRecords(auth);
  }, 120_000);

  afterAll(async () => {
    await records?.close();
  });

  type As = { sub: string; role: Parameters<typeof auth.token>[1]; org?: string };
  const DR_A: As = { sub: 'Practitioner/dr-a', role: 'practitioner' };
  const DR_B: As = { sub: 'Practitioner/dr-b', role: 'practitioner' };
  const patient = (id: string): As => ({ sub: `Patient/${id}`, role: 'patient' });

  async function call(as: As, method: string, path: string, body?: unknown) {
    const token = await auth.token(as.sub, as.role, as.org ? { org: as.org } : {});
    return fetch(records.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }
  async function created(response: Response): Promise<string> {
    const body = (await response.json()) as { id?: string };
    if (response.status !== 201 || !body.id)
      throw new Error(`expected 201, got ${response.status}: ${JSON.stringify(body)}`);
    return body.id;
  }
  const newPatient = async () =>
    created(
      await call(DR_A, 'POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: `C-${uniqueSuffix()}` }] }),
    );
  const observation = (p: string, effectiveDateTime: string, extra: Record<string, unknown> = {}) => ({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: `Patient/${p}` },
    effectiveDateTime,
    valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
    ...extra,
  });
  const newObservation = async (p: string, effective = '2026-11-20T08:00:00Z', extra?: Record<string, unknown>) =>
    created(await call(patient(p), 'POST', '/fhir/Observation', observation(p, effective, extra)));

  const recipient = (reference: string) => ({
    role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
    reference: { reference },
  });
  const consent = (p: string, rule: 'OPTIN' | 'OPTOUT', provision: Record<string, unknown>) => ({
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${p}` },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: rule }] },
    provision,
  });
  const writeConsent = async (p: string, body: unknown) =>
    created(await call(patient(p), 'POST', '/fhir/Consent', body));
  /** Why the patient's record last refused `actor`, from the patient's accounting of disclosures. */
  const lastRefusal = async (p: string, actor: string) => {
    const response = await call(patient(p), 'GET', `/fhir/Patient/${p}/$disclosures`);
    const { disclosures } = (await response.json()) as {
      disclosures: Array<{ actor: string; outcome: string; basis: string }>;
    };
    return disclosures.filter((d) => d.actor === actor && d.outcome === '4').at(-1)?.basis;
  };
  /** A read's status and basis: a refusal answers as an unknown id (404), its basis is in the audit trail. */
  const read = async (p: string, as: As, type: string, id: string) => {
    const response = await call(as, 'GET', `/fhir/${type}/${id}`);
    const body = (await response.json()) as { code?: string; detail?: string };
    if (response.status === 200) return { status: 200, basis: response.headers.get('x-medledger-access-basis') };
    expect(body).toMatchObject({ code: 'RECORDS.RESOURCE_NOT_FOUND', detail: `no ${type}/${id} that you may access` });
    return { status: response.status, basis: await lastRefusal(p, as.sub) };
  };
  const access = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }] };

  it('a permit of one resource (data, instance) opens that one; the others are denied and audited', async () => {
    const p = await newPatient();
    const allowed = await newObservation(p);
    const other = await newObservation(p);
    await writeConsent(
      p,
      consent(p, 'OPTOUT', {
        actor: [recipient(DR_A.sub)],
        action: [access],
        data: [{ meaning: 'instance', reference: { reference: `Observation/${allowed}` } }],
      }),
    );

    expect(await read(p, DR_A, 'Observation', allowed)).toEqual({ status: 200, basis: 'consent' });
    expect(await read(p, DR_A, 'Observation', other)).toEqual({ status: 404, basis: 'consent-deny' });
    expect(await read(p, DR_A, 'Patient', p)).toEqual({ status: 404, basis: 'consent-deny' });

    // A search shows only what the consent opens.
    const search = await call(DR_A, 'GET', `/fhir/Observation?patient=Patient/${p}`);
    expect(search.status).toBe(200);
    const bundle = (await search.json()) as { entry?: Array<{ resource: { id: string } }> };
    expect((bundle.entry ?? []).map((e) => e.resource.id)).toEqual([allowed]);

    // Both reads of the record are in the patient's accounting, the refusal with its basis.
    const accounting = (await (await call(patient(p), 'GET', `/fhir/Patient/${p}/$disclosures`)).json()) as {
      disclosures: Array<{ actor: string; interaction: string; resourceId?: string; outcome: string; basis: string }>;
    };
    const reads = accounting.disclosures.filter((d) => d.interaction === 'read' && d.resourceId !== p);
    expect(reads.map((d) => [d.resourceId, d.outcome, d.basis])).toEqual([
      [allowed, '0', 'consent'],
      [other, '4', 'consent-deny'],
    ]);
  });

  it('a deny and a permit side by side deny, in either order', async () => {
    const p = await newPatient();
    const obs = await newObservation(p);
    const observations = [{ system: 'http://hl7.org/fhir/resource-types', code: 'Observation' }];
    const deny = { type: 'deny', class: observations };
    const permit = { type: 'permit', class: observations };
    await writeConsent(p, consent(p, 'OPTOUT', { actor: [recipient(DR_A.sub)], provision: [deny, permit] }));
    await writeConsent(p, consent(p, 'OPTOUT', { actor: [recipient(DR_B.sub)], provision: [permit, deny] }));
    expect(await read(p, DR_A, 'Observation', obs)).toEqual({ status: 404, basis: 'consent-deny' });
    expect(await read(p, DR_B, 'Observation', obs)).toEqual({ status: 404, basis: 'consent-deny' });
  });

  it('a deny of related data withholds what the named resource refers to, and nothing else', async () => {
    const p = await newPatient();
    const member = await newObservation(p);
    const panel = await newObservation(p, '2026-11-20T08:00:00Z', {
      hasMember: [{ reference: `Observation/${member}` }],
    });
    const unrelated = await newObservation(p);
    await writeConsent(
      p,
      consent(p, 'OPTIN', { data: [{ meaning: 'related', reference: { reference: `Observation/${panel}` } }] }),
    );
    expect(await read(p, DR_B, 'Observation', panel)).toEqual({ status: 404, basis: 'consent-deny' });
    expect(await read(p, DR_B, 'Observation', member)).toEqual({ status: 404, basis: 'consent-deny' });
    expect(await read(p, DR_B, 'Observation', unrelated)).toEqual({ status: 200, basis: 'consent' });
  });

  it('a permit of a data period opens the data of that period only', async () => {
    const p = await newPatient();
    const of2020 = await newObservation(p, '2020-06-01T08:00:00Z');
    const of2026 = await newObservation(p, '2026-11-20T08:00:00Z');
    await writeConsent(
      p,
      consent(p, 'OPTOUT', { actor: [recipient(DR_A.sub)], dataPeriod: { start: '2020-01-01', end: '2020-12-31' } }),
    );
    expect(await read(p, DR_A, 'Observation', of2020)).toEqual({ status: 200, basis: 'consent' });
    expect(await read(p, DR_A, 'Observation', of2026)).toEqual({ status: 404, basis: 'consent-deny' });
  });

  it("HL7's consent-example-basic (OPTIN) and -notThem mean what they say", async () => {
    const p = await newPatient();
    const obs = await newObservation(p);
    const asOurs = (id: string) => {
      const {
        id: _,
        text: __,
        ...example
      } = readPackageFile(`Consent-consent-example-${id}.json`) as Record<string, unknown>;
      return { ...example, patient: { reference: `Patient/${p}` } };
    };
    expect(await read(p, DR_B, 'Observation', obs)).toEqual({ status: 404, basis: 'default-deny' });
    await writeConsent(p, asOurs('basic'));
    expect(await read(p, DR_B, 'Observation', obs)).toEqual({ status: 200, basis: 'consent' });
    // notThem withholds everything from Practitioner/f204 (the patient's ex-spouse).
    await writeConsent(p, asOurs('notThem'));
    expect(await read(p, { sub: 'Practitioner/f204', role: 'practitioner' }, 'Observation', obs)).toEqual({
      status: 404,
      basis: 'consent-deny',
    });
    expect(await read(p, DR_B, 'Observation', obs)).toEqual({ status: 200, basis: 'consent' });
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    [
      'securityLabel',
      { securityLabel: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] },
      'Consent.provision.securityLabel',
      'not-supported',
    ],
    [
      'the disclose action',
      { action: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'disclose' }] }] },
      'Consent.provision.action[0]',
      'not-supported',
    ],
    [
      'an author actor',
      {
        actor: [
          {
            role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'AUT' }] },
            reference: { reference: DR_A.sub },
          },
        ],
      },
      'Consent.provision.actor[0].role',
      'not-supported',
    ],
    [
      'a root type repeating the base rule',
      { type: 'deny', actor: [recipient(DR_A.sub)] },
      'Consent.provision.type',
      'business-rule',
    ],
  ])(
    'refuses a consent with %s: 422, naming the element, nothing stored',
    async (_name, provision, expression, code) => {
      const p = await newPatient();
      const response = await call(patient(p), 'POST', '/fhir/Consent', consent(p, 'OPTOUT', provision));
      expect(response.status).toBe(422);
      const outcome = (await response.json()) as {
        resourceType: string;
        issue: Array<{ code: string; expression?: string[]; details?: { coding?: Array<{ code?: string }> } }>;
      };
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(outcome.issue).toContainEqual(expect.objectContaining({ code, expression: [expression] }));
      expect(outcome.issue[0]?.details?.coding?.[0]?.code).toBe('RECORDS.CONSENT_NOT_SUPPORTED');
      const stored = await call(patient(p), 'GET', `/fhir/Consent?patient=Patient/${p}`);
      expect(((await stored.json()) as { entry?: unknown[] }).entry ?? []).toHaveLength(0);
    },
  );
});

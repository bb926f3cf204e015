import { testAuth, type RunningService } from '@medledger/testing';
import { startRecords } from './records-service';

/**
 * What the audit trail records (issue 16, items 10 and 11): the token's id, the client's address, the recipient's
 * organization, a search's criteria (inside the encrypted AuditEvent only) and the ids it returned; writes that
 * failed (412, 422) as well as those that succeeded; the accounting and the AuditEvent list in pages.
 */
describe('records: the audit trail', () => {
  const auth = testAuth('records');
  let records: RunningService;
  const ORG = 'Organization/st-mary';

  beforeAll(async () => {
    records = await startRecords(auth);
  }, 120_000);

  afterAll(async () => {
    await records?.close();
  });

  type As = { sub: string; role: Parameters<typeof auth.token>[1]; org?: string };
  const DR: As = { sub: 'Practitioner/dr-audit', role: 'practitioner', org: ORG };
  const patient = (id: string): As => ({ sub: `Patient/${id}`, role: 'patient' });

  /** Calls as `as`; answers the token too, to read its `jti`. */
  async function call(as: As, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const token = await auth.token(as.sub, as.role, as.org ? { org: as.org } : {});
    const response = await fetch(records.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const jti = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti: string })
      .jti;
    return { response, jti, json: async () => (await response.json()) as Record<string, unknown> };
  }
  async function newPatient(): Promise<string> {
    const { response, json } = await call(DR, 'POST', '/fhir/Patient', {
      resourceType: 'Patient',
      birthDate: '1950-03-03',
    });
    expect(response.status).toBe(201);
    return (await json())['id'] as string;
  }
  const observation = (p: string, code = '8867-4') => ({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${p}` },
    valueQuantity: { value: 70, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  });
  async function consent(p: string): Promise<void> {
    const coding = (system: string, code: string) => ({ coding: [{ system, code }] });
    const { response } = await call(patient(p), 'POST', '/fhir/Consent', {
      resourceType: 'Consent',
      status: 'active',
      scope: coding('http://terminology.hl7.org/CodeSystem/consentscope', 'patient-privacy'),
      category: [coding('http://loinc.org', '59284-0')],
      patient: { reference: `Patient/${p}` },
      policyRule: coding('http://terminology.hl7.org/CodeSystem/v3-ActCode', 'OPTOUT'),
      provision: {
        actor: [
          {
            role: coding('http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'IRCP'),
            reference: { reference: DR.sub },
          },
        ],
        action: [coding('http://terminology.hl7.org/CodeSystem/consentaction', 'access')],
      },
    });
    expect(response.status).toBe(201);
  }
  type FhirAuditEvent = {
    id: string;
    outcome: string;
    outcomeDesc?: string;
    subtype: Array<{ code: string }>;
    agent: Array<{ who: { reference: string }; altId?: string; network?: { address: string; type: string } }>;
    entity: Array<{ what?: { reference: string }; role?: { code: string }; query?: string }>;
  };
  async function auditEvents(
    p: string,
    query = '',
  ): Promise<{ total: number; link: unknown[]; events: FhirAuditEvent[] }> {
    const bundle = await (await call(patient(p), 'GET', `/fhir/AuditEvent?patient=Patient/${p}${query}`)).json();
    return {
      total: bundle['total'] as number,
      link: bundle['link'] as unknown[],
      events: (bundle['entry'] as Array<{ resource: FhirAuditEvent }>).map((e) => e.resource),
    };
  }

  it("records the token, the address, the recipient's organization, a search's criteria and the ids it returned", async () => {
    const p = await newPatient();
    const first = (
      (await (await call(patient(p), 'POST', '/fhir/Observation', observation(p))).json()) as { id: string }
    ).id;
    await call(patient(p), 'POST', '/fhir/Observation', observation(p, '8310-5'));
    await consent(p);

    const read = await call(DR, 'GET', `/fhir/Observation/${first}`);
    expect(read.response.status).toBe(200);
    const search = await call(DR, 'GET', `/fhir/Observation?patient=Patient/${p}&code=http://loinc.org|8867-4`);
    expect(((await search.json())['entry'] as unknown[]).length).toBe(1);

    const { events } = await auditEvents(p);
    const ofRead = events.find((e) => e.subtype[0]?.code === 'read' && e.agent[0]?.who.reference === DR.sub);
    expect(ofRead?.agent[0]?.altId).toBe(`jti:${read.jti}`);
    expect(ofRead?.agent[0]?.network?.type).toBe('2');
    expect(ofRead?.agent[0]?.network?.address).toMatch(/127\.0\.0\.1|::1/);
    expect(ofRead?.agent.map((a) => a.who.reference)).toContain(ORG);

    const ofSearch = events.find((e) => e.subtype[0]?.code === 'search-type' && e.agent[0]?.who.reference === DR.sub);
    expect(ofSearch?.agent[0]?.altId).toBe(`jti:${search.jti}`);
    const queried = ofSearch?.entity.find((e) => e.role?.code === '24');
    expect(Buffer.from(queried?.query ?? '', 'base64').toString('utf8')).toBe(
      `patient=Patient%2F${p}&code=http%3A%2F%2Floinc.org%7C8867-4`,
    );
    expect(ofSearch?.entity.filter((e) => e.role?.code === '4').map((e) => e.what?.reference)).toEqual([
      `Observation/${first}`,
    ]);

    // The accounting names the recipient; the search's criteria are not in it (they are clinical values).
    const accounting = await (await call(patient(p), 'GET', `/fhir/Patient/${p}/$disclosures`)).json();
    const disclosures = accounting['disclosures'] as Array<Record<string, unknown>>;
    expect(disclosures.find((d) => d['interaction'] === 'read')?.['recipient']).toEqual({
      actor: DR.sub,
      organization: ORG,
      address: expect.stringMatching(/127\.0\.0\.1|::1/) as string,
    });
    expect(JSON.stringify(accounting)).not.toContain('8867-4');
  });

  it('audits writes that fail: a stale If-Match (412) and a change of patient (422)', async () => {
    const p = await newPatient();
    const other = await newPatient();
    const posted = await call(patient(p), 'POST', '/fhir/Observation', observation(p));
    const id = ((await posted.json()) as { id: string }).id;
    const stale = await call(patient(p), 'PUT', `/fhir/Observation/${id}`, observation(p), { 'if-match': 'W/"7"' });
    expect(stale.response.status).toBe(412);
    const moved = await call(patient(p), 'PUT', `/fhir/Observation/${id}`, observation(other));
    expect(moved.response.status).toBe(422);

    const { events } = await auditEvents(p);
    const failedUpdates = events.filter((e) => e.subtype[0]?.code === 'update' && e.outcome === '4');
    expect(failedUpdates.map((e) => e.outcomeDesc?.split(':')[0]).sort()).toEqual([
      'RECORDS.PATIENT_CHANGED',
      'RECORDS.VERSION_MISMATCH',
    ]);
  });

  it('pages the accounting and the AuditEvent list, with next links to follow', async () => {
    const p = await newPatient();
    const obs = ((await (await call(patient(p), 'POST', '/fhir/Observation', observation(p))).json()) as { id: string })
      .id;
    await consent(p);
    for (let i = 0; i < 5; i++) expect((await call(DR, 'GET', `/fhir/Observation/${obs}`)).response.status).toBe(200);

    const first = await (await call(patient(p), 'GET', `/fhir/Patient/${p}/$disclosures?_count=2`)).json();
    expect(first).toMatchObject({ offset: 0 });
    expect(first['total'] as number).toBeGreaterThanOrEqual(6);
    expect((first['disclosures'] as unknown[]).length).toBe(2);
    const next = first['next'] as string;
    expect(next).toBe(`/fhir/Patient/${p}/$disclosures?_count=2&_offset=2`);
    const second = await (await call(patient(p), 'GET', next)).json();
    expect(second).toMatchObject({ offset: 2 });
    const ids = (page: Record<string, unknown>) =>
      (page['disclosures'] as Array<{ auditEventId: string }>).map((d) => d.auditEventId);
    expect(ids(second)).toHaveLength(2);
    expect(ids(second).some((id) => ids(first).includes(id))).toBe(false);

    const page = await auditEvents(p, '&_count=3');
    expect(page.events).toHaveLength(3);
    expect(page.total).toBeGreaterThan(3);
    expect(page.link).toContainEqual({
      relation: 'next',
      url: `/fhir/AuditEvent?patient=Patient/${p}&_count=3&_offset=3`,
    });
    for (const bad of ['_count=0', '_count=1001', '_offset=-1', '_count=abc'])
      expect((await call(patient(p), 'GET', `/fhir/Patient/${p}/$disclosures?${bad}`)).response.status).toBe(400);
  });

  it("keeps the accounting and the AuditEvents readable after an erasure; a search's criteria go with the record", async () => {
    const p = await newPatient();
    const obs = ((await (await call(patient(p), 'POST', '/fhir/Observation', observation(p))).json()) as { id: string })
      .id;
    await consent(p);
    expect((await call(DR, 'GET', `/fhir/Observation/${obs}`)).response.status).toBe(200);
    expect((await call(DR, 'GET', `/fhir/Observation?patient=${p}&code=8867-4`)).response.status).toBe(200);
    const searched = (events: FhirAuditEvent[]) =>
      events.find((e) => e.subtype[0]?.code === 'search-type' && e.agent[0]?.who.reference === DR.sub);
    const before = await auditEvents(p);
    expect(searched(before.events)?.entity.some((e) => e.role?.code === '24')).toBe(true);

    expect((await call(patient(p), 'POST', `/fhir/Patient/${p}/$erase`)).response.status).toBe(200);

    // The accounting still answers, every access by Dr in it.
    const accounting = await call(patient(p), 'GET', `/fhir/Patient/${p}/$disclosures`);
    expect(accounting.response.status).toBe(200);
    const disclosures = (await accounting.json())['disclosures'] as Array<{ actor: string; interaction: string }>;
    expect(disclosures.filter((d) => d.actor === DR.sub).map((d) => d.interaction)).toEqual([
      'create',
      'read',
      'search',
    ]);
    // So do the AuditEvents (PHI-free), without the search's criteria: they were the patient's, and are gone.
    const after = await auditEvents(p);
    expect(after.total).toBeGreaterThan(before.total);
    expect(after.events.map((e) => e.id)).toEqual(expect.arrayContaining(before.events.map((e) => e.id)));
    expect(searched(after.events)?.entity.some((e) => e.role?.code === '24')).toBe(false);
    expect(searched(after.events)?.entity.filter((e) => e.role?.code === '4')).toHaveLength(1);
  });
});

import { testAuth, type RunningService } from '@medledger/testing';
import { startRecords } from './records-service';

/** What integrators expect (issue 16, item 19): the CapabilityStatement, Patient $everything, the usual search parameters. */
describe('records: the FHIR interactions integrators expect', () => {
  const auth = testAuth('records');
  let records: RunningService;

  beforeAll(async () => {
    records = await startRecords(auth);
  }, 120_000);

  afterAll(async () => {
    await records?.close();
  });

  type As = { sub: string; role: Parameters<typeof auth.token>[1] };
  const DR: As = { sub: 'Practitioner/dr-fhir', role: 'practitioner' };
  const patient = (id: string): As => ({ sub: `Patient/${id}`, role: 'patient' });
  async function call(as: As, method: string, path: string, body?: unknown) {
    const token = await auth.token(as.sub, as.role);
    const response = await fetch(records.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }
  async function newPatient(): Promise<string> {
    const { status, body } = await call(DR, 'POST', '/fhir/Patient', { resourceType: 'Patient', gender: 'female' });
    expect(status).toBe(201);
    return body['id'] as string;
  }
  const observation = (p: string, code: string, status = 'final') => ({
    resourceType: 'Observation',
    status,
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${p}` },
    valueQuantity: { value: 1, unit: '1', system: 'http://unitsofmeasure.org', code: '1' },
  });
  const ids = (bundle: Record<string, unknown>) =>
    ((bundle['entry'] as Array<{ resource: { id: string } }> | undefined) ?? []).map((e) => e.resource.id);

  it('serves its CapabilityStatement at /fhir/metadata, without a token', async () => {
    const response = await fetch(`${records.baseUrl}/fhir/metadata`);
    expect(response.status).toBe(200);
    const statement = (await response.json()) as {
      resourceType: string;
      fhirVersion: string;
      rest: Array<{
        resource: Array<{ type: string; searchParam: Array<{ name: string }>; operation?: Array<{ name: string }> }>;
      }>;
    };
    expect(statement).toMatchObject({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1' });
    const types = statement.rest[0]?.resource ?? [];
    expect(types.map((t) => t.type)).toEqual(
      expect.arrayContaining(['Patient', 'Observation', 'Condition', 'Consent']) as string[],
    );
    const observationParams = types.find((t) => t.type === 'Observation')?.searchParam.map((p) => p.name);
    expect(observationParams).toEqual(['patient', 'code', 'status', 'date', '_id', '_lastUpdated']);
    expect(types.find((t) => t.type === 'Patient')?.operation?.map((o) => o.name)).toContain('everything');
  });

  it('searches by _id, status, comma-OR codes and _lastUpdated, and pages with _count and next links', async () => {
    const p = await newPatient();
    const made: string[] = [];
    for (const [code, status] of [
      ['8867-4', 'final'],
      ['8310-5', 'final'],
      ['8867-4', 'preliminary'],
      ['9279-1', 'final'],
      ['8867-4', 'final'],
    ] as const) {
      const { status: created, body } = await call(
        patient(p),
        'POST',
        '/fhir/Observation',
        observation(p, code, status),
      );
      expect(created).toBe(201);
      made.push(body['id'] as string);
    }
    const search = async (query: string) =>
      (await call(patient(p), 'GET', `/fhir/Observation?patient=${p}&${query}`)).body;

    expect(ids(await search(`_id=${made[1]}`))).toEqual([made[1]]);
    expect(ids(await search(`_id=${made[0]},${made[3]}`))).toEqual([made[0], made[3]]);
    expect(ids(await search('status=preliminary'))).toEqual([made[2]]);
    expect(ids(await search('code=8310-5,9279-1'))).toEqual([made[1], made[3]]);
    expect(ids(await search('code=8867-4&status=final'))).toEqual([made[0], made[4]]);
    expect(ids(await search('_lastUpdated=ge2000-01-01'))).toHaveLength(5);
    expect(ids(await search('_lastUpdated=lt2000-01-01'))).toEqual([]);

    // Paging: two at a time, following next until there is none.
    const seen: string[] = [];
    let page = await search('_count=2');
    expect(page['total']).toBe(5);
    for (;;) {
      seen.push(...ids(page));
      const next = (page['link'] as Array<{ relation: string; url: string }>).find((l) => l.relation === 'next');
      if (!next) break;
      expect(next.url).toMatch(/_count=2&_offset=\d+$/);
      page = (await call(patient(p), 'GET', next.url)).body;
    }
    expect(seen).toEqual(made);
    expect((await call(patient(p), 'GET', `/fhir/Observation?patient=${p}&_count=0`)).status).toBe(400);
  });

  it("gives the patient's whole record by Patient $everything, and a stranger the answer of an unknown patient", async () => {
    const p = await newPatient();
    const obs = (await call(patient(p), 'POST', '/fhir/Observation', observation(p, '8867-4'))).body['id'] as string;
    const condition = (
      await call(patient(p), 'POST', '/fhir/Condition', {
        resourceType: 'Condition',
        subject: { reference: `Patient/${p}` },
        code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003' }] },
      })
    ).body['id'] as string;
    const everything = await call(patient(p), 'GET', `/fhir/Patient/${p}/$everything`);
    expect(everything.status).toBe(200);
    expect(everything.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 3 });
    expect(ids(everything.body).sort()).toEqual([p, obs, condition].sort());

    const stranger = await call(
      { sub: 'Practitioner/stranger', role: 'practitioner' },
      'GET',
      `/fhir/Patient/${p}/$everything`,
    );
    expect(stranger).toMatchObject({ status: 404, body: { code: 'RECORDS.RESOURCE_NOT_FOUND' } });
  });
});

import { testAuth, type RunningService } from '@medledger/testing';
import { MAX_JSON_DEPTH } from '../src/fhir/domain';
import { startRecords } from './records-service';

/**
 * Input at records' boundary (issue 16, items 5, 14, 15 and 16): ids in one spelling whatever the client wrote,
 * no 5xx on a reference to a non-UUID patient or on a deeply nested body, a PUT whose body names another id
 * refused, and what the client says in `meta` kept.
 */
describe('records: input at the boundary', () => {
  const auth = testAuth('records');
  let records: RunningService;

  beforeAll(async () => {
    records = await startRecords(auth);
  }, 120_000);

  afterAll(async () => {
    await records?.close();
  });

  type As = { sub: string; role: Parameters<typeof auth.token>[1] };
  const DR: As = { sub: 'Practitioner/dr-input', role: 'practitioner' };
  const patient = (id: string): As => ({ sub: `Patient/${id}`, role: 'patient' });

  async function call(as: As, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const token = await auth.token(as.sub, as.role);
    return fetch(records.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  }
  async function json(response: Response): Promise<Record<string, unknown>> {
    return (await response.json()) as Record<string, unknown>;
  }
  async function newPatient(): Promise<string> {
    const response = await call(DR, 'POST', '/fhir/Patient', { resourceType: 'Patient', birthDate: '1970-01-01' });
    expect(response.status).toBe(201);
    return (await json(response))['id'] as string;
  }
  const observation = (reference: string) => ({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference },
    valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  });

  it('treats an upper-case id as the same patient: one key, one record, one erasure', async () => {
    const id = await newPatient();
    const upper = id.toUpperCase();
    const posted = await call(patient(id), 'POST', '/fhir/Observation', observation(`Patient/${upper}`));
    expect(posted.status).toBe(201);
    const observationId = (await json(posted))['id'] as string;

    // Found under the patient's id however it is spelled, and readable by its upper-case id.
    const search = await call(patient(id), 'GET', `/fhir/Observation?patient=Patient/${upper}`);
    expect(await json(search)).toMatchObject({ total: 1 });
    expect((await call(patient(id), 'GET', `/fhir/Observation/${observationId.toUpperCase()}`)).status).toBe(200);

    // The patient erases their record by the upper-case id: the observation, encrypted under the same key, is gone.
    expect((await call(patient(id), 'POST', `/fhir/Patient/${upper}/$erase`)).status).toBe(200);
    expect((await call(DR, 'GET', `/fhir/Observation/${observationId}`)).status).toBe(410);
    expect((await call(DR, 'GET', `/fhir/Patient/${id}`)).status).toBe(410);
  });

  it.each(['Patient/example', 'Patient/123', 'Patient/not-a-uuid-at-all'])(
    'answers 422 RECORDS.UNKNOWN_PATIENT to a reference to %s, not a 500',
    async (reference) => {
      const response = await call(DR, 'POST', '/fhir/Observation', observation(reference));
      expect(response.status).toBe(422);
      const body = await json(response);
      expect(body).toMatchObject({
        resourceType: 'OperationOutcome',
        issue: [{ code: 'not-found', details: { coding: [{ code: 'RECORDS.UNKNOWN_PATIENT' }] } }],
      });
    },
  );

  it('answers 400 with an OperationOutcome to extensions nested past the limit, and accepts them below it', async () => {
    const id = await newPatient();
    // Written as text: JSON.stringify itself recurses, and ten thousand levels are deeper than its stack too.
    const nested = (levels: number): string =>
      '{"url":"http://example.org/level","extension":['.repeat(levels) +
      '{"url":"http://example.org/leaf","valueString":"x"}' +
      ']}'.repeat(levels);
    const withExtension = (levels: number): string => {
      const text = JSON.stringify(observation(`Patient/${id}`));
      return `${text.slice(0, -1)},"extension":[${nested(levels)}]}`;
    };
    // At the limit, and ten thousand levels: deeper than the validator's recursion can go.
    for (const levels of [MAX_JSON_DEPTH, 10_000]) {
      const response = await call(patient(id), 'POST', '/fhir/Observation', withExtension(levels));
      expect(response.status).toBe(400);
      expect(await json(response)).toMatchObject({
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'error',
            code: 'too-costly',
            details: { coding: [{ code: 'RECORDS.TOO_DEEP' }] },
            expression: [expect.stringMatching(/^Observation\.extension/)],
          },
        ],
      });
    }
    expect((await call(patient(id), 'POST', '/fhir/Observation', withExtension(3))).status).toBe(201);
  });

  it('refuses a PUT whose body names another id, and keeps meta.security, meta.tag and meta.profile', async () => {
    const id = await newPatient();
    const meta = {
      security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
      tag: [{ system: 'http://example.org/tags', code: 'imported' }],
      profile: ['http://hl7.org/fhir/StructureDefinition/heartrate'],
    };
    const posted = await call(patient(id), 'POST', '/fhir/Observation', {
      ...observation(`Patient/${id}`),
      meta: { ...meta, versionId: '99', lastUpdated: '2001-01-01T00:00:00Z' },
    });
    expect(posted.status).toBe(201);
    const created = await json(posted);
    const observationId = created['id'] as string;
    const { lastUpdated, ...rest } = created['meta'] as Record<string, unknown>;
    expect(rest).toEqual({ ...meta, versionId: '1' });
    expect(lastUpdated).not.toBe('2001-01-01T00:00:00Z');

    const other = '00000000-0000-4000-8000-000000000000';
    const mismatch = await call(patient(id), 'PUT', `/fhir/Observation/${observationId}`, {
      ...observation(`Patient/${id}`),
      id: other,
    });
    expect(mismatch.status).toBe(400);
    expect(await json(mismatch)).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [
        { code: 'invalid', details: { coding: [{ code: 'RECORDS.ID_MISMATCH' }] }, expression: ['Observation.id'] },
      ],
    });

    // The same id (in any case) is an update; so is a body without id.
    const same = await call(patient(id), 'PUT', `/fhir/Observation/${observationId}`, {
      ...observation(`Patient/${id}`),
      id: observationId.toUpperCase(),
      meta,
    });
    expect(same.status).toBe(200);
    expect((await json(same))['meta']).toMatchObject({ ...meta, versionId: '2' });
    const read = await json(await call(patient(id), 'GET', `/fhir/Observation/${observationId}`));
    expect(read['meta']).toMatchObject({ ...meta, versionId: '2' });
    expect(read['id']).toBe(observationId);
  });

  it('searches by POST with a form body (FHIR _search), the same as GET, parameters in the body and the URL', async () => {
    const id = await newPatient();
    for (const code of ['8867-4', '8310-5']) {
      const body = { ...observation(`Patient/${id}`), code: { coding: [{ system: 'http://loinc.org', code }] } };
      expect((await call(patient(id), 'POST', '/fhir/Observation', body)).status).toBe(201);
    }
    const token = await auth.token(`Patient/${id}`, 'patient');
    const post = (path: string, form: string) =>
      fetch(records.baseUrl + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      });
    const byGet = await json(await call(patient(id), 'GET', `/fhir/Observation?patient=${id}&code=8867-4`));
    const byPost = await post(
      '/fhir/Observation/_search',
      `patient=Patient%2F${id}&code=http%3A%2F%2Floinc.org%7C8867-4`,
    );
    expect(byPost.status).toBe(200);
    const found = await json(byPost);
    expect(found).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 1 });
    expect(found['entry']).toEqual(byGet['entry']);
    // The patient in the URL, the code in the body.
    const mixed = await json(await post(`/fhir/Observation/_search?patient=${id}`, 'code=8310-5'));
    expect(mixed).toMatchObject({ total: 1 });
    // Without the patient: the same 400 OperationOutcome as GET.
    const missing = await post('/fhir/Observation/_search', 'code=8310-5');
    expect(missing.status).toBe(400);
    expect(await json(missing)).toMatchObject({ resourceType: 'OperationOutcome' });
  });

  it("answers a refusal exactly as it answers an unknown id: the record's existence and consents stay hidden", async () => {
    const id = await newPatient();
    const posted = await call(patient(id), 'POST', '/fhir/Observation', observation(`Patient/${id}`));
    const observationId = (await json(posted))['id'] as string;
    const stranger: As = { sub: 'Practitioner/stranger', role: 'practitioner' };
    const unknown = '00000000-0000-4000-8000-00000000abcd';
    /** The answer with the id asked for written as X, without the request's own id (the only differences allowed). */
    const answer = async (response: Response, asked: string) => {
      const { requestId: _requestId, ...body } = await json(response);
      return { status: response.status, body: JSON.stringify(body).replaceAll(asked, 'X') };
    };
    const pairs: Array<[string, string, unknown, string, string, unknown]> = [
      ['GET', `/fhir/Observation/${observationId}`, undefined, 'GET', `/fhir/Observation/${unknown}`, undefined],
      [
        'GET',
        `/fhir/Observation/${observationId}/_history/1`,
        undefined,
        'GET',
        `/fhir/Observation/${unknown}/_history/1`,
        undefined,
      ],
      ['GET', `/fhir/Observation?patient=${id}`, undefined, 'GET', `/fhir/Observation?patient=${unknown}`, undefined],
      [
        'POST',
        '/fhir/Observation',
        observation(`Patient/${id}`),
        'POST',
        '/fhir/Observation',
        observation(`Patient/${unknown}`),
      ],
      ['GET', `/fhir/Patient/${id}/$disclosures`, undefined, 'GET', `/fhir/Patient/${unknown}/$disclosures`, undefined],
    ];
    for (const [method, path, body, unknownMethod, unknownPath, unknownBody] of pairs) {
      const refused = await answer(
        await call(stranger, method, path, body),
        path.includes(observationId) ? observationId : id,
      );
      const missing = await answer(await call(stranger, unknownMethod, unknownPath, unknownBody), unknown);
      expect({ path, ...refused }).toEqual({ path, ...missing });
      expect([404, 422]).toContain(refused.status);
    }
    // The refusal itself is in the patient's accounting, with its real reason.
    const { disclosures } = (await json(await call(patient(id), 'GET', `/fhir/Patient/${id}/$disclosures`))) as {
      disclosures: Array<{ actor: string; outcome: string; basis: string }>;
    };
    expect(disclosures.filter((d) => d.actor === stranger.sub).map((d) => [d.outcome, d.basis])).toContainEqual([
      '4',
      'default-deny',
    ]);
  });

  it('decides what it can before decrypting: a refused read, vread or history decrypts none of the resource', async () => {
    const id = await newPatient();
    const posted = await call(patient(id), 'POST', '/fhir/Observation', observation(`Patient/${id}`));
    const observationId = (await json(posted))['id'] as string;
    /** Observations decrypted so far, from the service's own metrics. */
    const decrypted = async () => {
      const text = await (await fetch(`${records.baseUrl}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('records_event_decryptions_total{kind="Observation"}'));
      return Number(line?.split(' ')[1] ?? 0);
    };
    const stranger: As = { sub: 'Practitioner/stranger-2', role: 'practitioner' };
    const before = await decrypted();
    for (const path of [
      `/fhir/Observation/${observationId}`,
      `/fhir/Observation/${observationId}/_history/1`,
      `/fhir/Observation/${observationId}/_history`,
    ])
      expect({ path, status: (await call(stranger, 'GET', path)).status }).toEqual({ path, status: 404 });
    expect(await decrypted()).toBe(before);
    // The control: a practitioner the patient's consent permits reads it, and that read decrypts it.
    const consent = {
      resourceType: 'Consent',
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: `Patient/${id}` },
      policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    };
    expect((await call(patient(id), 'POST', '/fhir/Consent', consent)).status).toBe(201);
    expect((await call(stranger, 'GET', `/fhir/Observation/${observationId}`)).status).toBe(200);
    expect(await decrypted()).toBeGreaterThan(before);
  });
});

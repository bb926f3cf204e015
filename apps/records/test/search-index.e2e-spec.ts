import { PRISMA } from '@medledger/platform';
import type { Sql } from '@medledger/event-store';
import { testAuth, uniqueSuffix, type RunningService } from '@medledger/testing';
import { searchIndex, type StoredResource } from '../src/fhir/domain';
import { matches, parseSearch } from '../src/resources/domain/search-query';
import { SearchIndexBackfill } from '../src/resources/infra/search-index';
import { startRecords } from './records-service';

/**
 * The blind index (issue 16 item 11, ADR 0016): a search decrypts only the resources its criteria select, through
 * every write path (create, update, transaction Bundle), answers exactly what matching every resource answered,
 * still shows only what the consents permit, fills itself for resources written before it, and goes with the
 * patient's erasure. What a search decrypts is read from `records_event_decryptions_total{kind="Observation"}`.
 */
describe('records: searches through the blind index', () => {
  const auth = testAuth('records');
  let records: RunningService;
  let sql: Sql;

  beforeAll(async () => {
    records = await startRecords(auth);
    sql = records.app.get<Sql>(PRISMA);
  }, 120_000);

  afterAll(async () => {
    await records?.close();
  });

  type As = { sub: string; role: Parameters<typeof auth.token>[1] };
  const DR: As = { sub: 'Practitioner/dr-search', role: 'practitioner' };
  const patient = (id: string): As => ({ sub: `Patient/${id}`, role: 'patient' });

  async function call(as: As, method: string, path: string, body?: unknown) {
    const token = await auth.token(as.sub, as.role);
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
      await call(DR, 'POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: `S-${uniqueSuffix()}` }] }),
    );
  const LOINC = 'http://loinc.org';
  const observation = (p: string, code: string, effectiveDateTime: string, status = 'final') => ({
    resourceType: 'Observation',
    status,
    code: { coding: [{ system: LOINC, code }] },
    subject: { reference: `Patient/${p}` },
    effectiveDateTime,
    valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  });
  const newObservation = async (p: string, code: string, effective: string, status?: string) =>
    created(await call(patient(p), 'POST', '/fhir/Observation', observation(p, code, effective, status)));

  /** Observations decrypted so far, from the service's own metrics. */
  const decrypted = async () => {
    const text = await (await fetch(`${records.baseUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('records_event_decryptions_total{kind="Observation"}'));
    return Number(line?.split(' ')[1] ?? 0);
  };
  type SearchBundle = {
    total: number;
    entry?: Array<{ resource: { id: string } }>;
    link: Array<{ relation: string; url: string }>;
  };
  /** A search's Bundle and how many Observations it decrypted. */
  const search = async (as: As, query: string) => {
    const before = await decrypted();
    const response = await call(as, 'GET', `/fhir/Observation?${query}`);
    expect({ query, status: response.status }).toEqual({ query, status: 200 });
    const bundle = (await response.json()) as SearchBundle;
    return { bundle, ids: (bundle.entry ?? []).map((e) => e.resource.id), decrypted: (await decrypted()) - before };
  };
  const rows = async (p: string) =>
    Number(
      (
        await sql.$queryRawUnsafe<Array<{ n: bigint }>>(
          'SELECT count(*) AS n FROM search_index WHERE patient_id = $1::uuid',
          p,
        )
      )[0]?.n,
    );

  /** Six observations: codes A, B and C, two of each, in 2013, 2019 and 2024. */
  async function record() {
    const p = await newPatient();
    const a1 = await newObservation(p, '1111-1', '2013-05-02T10:00:00Z');
    const b1 = await newObservation(p, '2222-2', '2013-07-01');
    const c1 = await newObservation(p, '3333-3', '2019-01-01', 'amended');
    const a2 = await newObservation(p, '1111-1', '2019-06-01T00:00:00Z');
    const b2 = await newObservation(p, '2222-2', '2024-02-29');
    const c2 = await newObservation(p, '3333-3', '2024-03-01', 'amended');
    return { p, a1, a2, b1, b2, c1, c2 };
  }

  it('decrypts only the resources whose tokens answer a token criterion, and pages them', async () => {
    const { p, a1, a2, b1, b2, c2 } = await record();
    expect(await search(patient(p), `patient=Patient/${p}&code=${LOINC}|1111-1`)).toMatchObject({
      ids: [a1, a2],
      decrypted: 2,
    });
    expect(await search(patient(p), `patient=${p}&code=1111-1,2222-2`)).toMatchObject({
      ids: [a1, b1, a2, b2],
      decrypted: 4,
    });
    expect(await search(patient(p), `patient=${p}&code=3333-3&status=final`)).toMatchObject({ ids: [], decrypted: 0 });
    expect(await search(patient(p), `patient=${p}&code=http://snomed.info/sct|1111-1`)).toMatchObject({
      ids: [],
      decrypted: 0,
    });
    // _id is in the clear index: only that one is decrypted.
    expect(await search(patient(p), `patient=${p}&_id=${c2}`)).toMatchObject({ ids: [c2], decrypted: 1 });
    // A bounded date: its years' tokens; the exact comparison on what they select.
    expect(await search(patient(p), `patient=${p}&date=2013`)).toMatchObject({ ids: [a1, b1], decrypted: 2 });
    expect(await search(patient(p), `patient=${p}&date=2013-05`)).toMatchObject({ ids: [a1], decrypted: 2 });

    // Paging: total counts every match, the next link carries the criteria on.
    const first = await search(patient(p), `patient=${p}&code=1111-1,2222-2&_count=3`);
    expect(first).toMatchObject({ ids: [a1, b1, a2], decrypted: 4, bundle: { total: 4 } });
    const next = first.bundle.link.find((l) => l.relation === 'next')?.url ?? '';
    expect(next).toContain('_offset=3');
    const second = await search(patient(p), next.slice('/fhir/Observation?'.length));
    expect(second).toMatchObject({ ids: [b2], bundle: { total: 4 } });
    expect(second.bundle.link.some((l) => l.relation === 'next')).toBe(false);
  });

  it('keeps the index at the current version through updates and transaction Bundles', async () => {
    const { p, a1, a2 } = await record();
    const updated = await call(patient(p), 'PUT', `/fhir/Observation/${a1}`, {
      ...observation(p, '4444-4', '2013-05-02T10:00:00Z'),
      id: a1,
    });
    expect(updated.status).toBe(200);
    expect(await search(patient(p), `patient=${p}&code=1111-1`)).toMatchObject({ ids: [a2], decrypted: 1 });
    // One resource, both of its versions decrypted to fold it.
    expect(await search(patient(p), `patient=${p}&code=4444-4`)).toMatchObject({ ids: [a1], decrypted: 2 });

    const entry = (code: string) => ({
      fullUrl: `urn:uuid:${crypto.randomUUID()}`,
      resource: observation(p, code, '2025-01-01'),
      request: { method: 'POST', url: 'Observation' },
    });
    const bundle = await call(patient(p), 'POST', '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [entry('5555-5'), entry('5555-5'), entry('6666-6')],
    });
    expect(bundle.status).toBe(200);
    const imported = (await bundle.json()) as { entry: Array<{ response: { location: string } }> };
    const [x, y] = imported.entry.map((e) => /Observation\/([0-9a-f-]{36})/.exec(e.response.location)?.[1]);
    // Created in one transaction, at one time: in the order of their ids.
    const five = await search(patient(p), `patient=${p}&code=5555-5`);
    expect({ ids: [...five.ids].sort(), decrypted: five.decrypted }).toEqual({ ids: [x, y].sort(), decrypted: 2 });
    const batch = await call(patient(p), 'POST', '/fhir', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ resource: observation(p, '7777-7', '2025-01-01'), request: { method: 'POST', url: 'Observation' } }],
    });
    expect(batch.status).toBe(200);
    expect(await search(patient(p), `patient=${p}&code=7777-7`)).toMatchObject({ decrypted: 1 });
  });

  it('answers what matching every decrypted resource answers, for every parameter it takes', async () => {
    const { p } = await record();
    const all = (await search(patient(p), `patient=${p}&_count=1000`)).bundle.entry?.map((e) => e.resource) ?? [];
    expect(all).toHaveLength(6);
    const queries = [
      'code=1111-1',
      `code=${LOINC}|2222-2,3333-3`,
      'status=amended',
      'status=final,amended&code=3333-3',
      'code=1111-1&code=2222-2',
      'date=2019',
      'date=2013-05-02',
      'date=ge2019-01-01',
      'date=lt2019',
      'date=ne2013',
      'date=2010-01-01T00:00:00Z',
      'date=eq2000&code=1111-1',
      'code=1111-1&date=gt2014',
      `_lastUpdated=ge2000-01-01`,
      `_lastUpdated=lt2000-01-01`,
    ];
    for (const query of queries) {
      const params = Object.fromEntries(new URLSearchParams(query).entries());
      // Repeated parameters (AND) as the server reads them.
      const repeated = new URLSearchParams(query);
      for (const name of new Set(repeated.keys()))
        if (repeated.getAll(name).length > 1) params[name] = repeated.getAll(name) as never;
      const parsed = parseSearch('Observation', { ...params, patient: p });
      if (!parsed.ok) throw new Error(parsed.message);
      const expected = all
        .filter((r) =>
          matches(searchIndex(r as unknown as StoredResource), parsed.query.criteria, {
            id: r.id,
            lastUpdated: (r as unknown as { meta: { lastUpdated: string } }).meta.lastUpdated,
          }),
        )
        .map((r) => r.id);
      const found = await search(patient(p), `patient=${p}&${query}`);
      expect({ query, ids: found.ids }).toEqual({ query, ids: expected });
      expect(found.decrypted).toBeGreaterThanOrEqual(expected.length);
    }
  });

  it('still shows only what the consents permit among the matches', async () => {
    const { p, a1, a2 } = await record();
    const consent = {
      resourceType: 'Consent',
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: `Patient/${p}` },
      policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
      // Everything but one observation (the root provision is the exception to the base rule).
      provision: { data: [{ meaning: 'instance', reference: { reference: `Observation/${a1}` } }] },
    };
    expect((await call(patient(p), 'POST', '/fhir/Consent', consent)).status).toBe(201);
    expect(await search(DR, `patient=${p}&code=1111-1`)).toMatchObject({ ids: [a2], decrypted: 2 });
    expect(await search(patient(p), `patient=${p}&code=1111-1`)).toMatchObject({ ids: [a1, a2] });
    // Someone no consent names (a base permit is for practitioners) gets the answer of an unknown patient, and
    // nothing is decrypted.
    const stranger: As = { sub: 'RelatedPerson/stranger-search', role: 'related-person' };
    const before = await decrypted();
    expect((await call(stranger, 'GET', `/fhir/Observation?patient=${p}&code=1111-1`)).status).toBe(404);
    expect(await decrypted()).toBe(before);
  });

  it('fills the index at start for resources written before it, and answers rightly meanwhile', async () => {
    const { p, a1, a2 } = await record();
    // As the migration leaves a record written before the index: no rows.
    await sql.$executeRawUnsafe('DELETE FROM search_index WHERE patient_id = $1::uuid', p);
    expect(await search(patient(p), `patient=${p}&code=1111-1`)).toMatchObject({ ids: [a1, a2], decrypted: 6 });
    expect(await records.app.get(SearchIndexBackfill).fill()).toBeGreaterThanOrEqual(6);
    expect(await rows(p)).toBe(6);
    expect(await search(patient(p), `patient=${p}&code=1111-1`)).toMatchObject({ ids: [a1, a2], decrypted: 2 });
  });

  it('erases the index with the record: rows deleted, the key they were made under destroyed, no rebuild brings them back', async () => {
    const { p } = await record();
    const other = await record();
    expect(await rows(p)).toBe(6);
    const erased = await call(patient(p), 'POST', `/fhir/Patient/${p}/$erase`);
    expect(erased.status).toBe(200);
    expect(await rows(p)).toBe(0);
    const keys = await sql.$queryRawUnsafe<Array<{ stream_id: string; wrapped: string; destroyed: boolean }>>(
      `SELECT stream_id, wrapped, destroyed_at IS NOT NULL AS destroyed FROM patient_key WHERE stream_id LIKE $1 ORDER BY stream_id`,
      `Patient-${p}%`,
    );
    expect(keys).toEqual([
      { stream_id: `Patient-${p}`, wrapped: '', destroyed: true },
      { stream_id: `Patient-${p}#pseudonyms`, wrapped: '', destroyed: true },
    ]);
    // A search of the erased record answers as every read of it does.
    expect((await call(patient(p), 'GET', `/fhir/Observation?patient=${p}&code=1111-1`)).status).toBe(410);

    const admin = { authorization: `Bearer ${await auth.token('Organization/records-ops', 'org-admin')}` };
    const rebuilt = await fetch(`${records.baseUrl}/v1/projections/search-index/rebuild`, {
      method: 'POST',
      headers: admin,
    });
    expect(rebuilt.status).toBe(201);
    expect(await rows(p)).toBe(0);
    expect(await rows(other.p)).toBe(6);
    expect(await search(patient(other.p), `patient=${other.p}&code=1111-1`)).toMatchObject({
      ids: [other.a1, other.a2],
      decrypted: 2,
    });
  });
});

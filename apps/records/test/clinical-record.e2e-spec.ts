import { testAuth, type RunningService } from '@medledger/testing';
import { startRecords } from './records-service';

/**
 * The rest of a clinical record (issue 16 item 17): what a record generator such as Synthea writes for a patient
 * beyond the first six types, posted one by one as an integrator does, stored, read back, searched, refused to a
 * practitioner without consent (as an unknown id) and audited, allowed by a consent whose `class` names the type,
 * and unreadable after an erasure.
 */
describe('records: a whole clinical record', () => {
  const auth = testAuth('records');
  let records: RunningService;

  beforeAll(async () => {
    records = await startRecords(auth);
  }, 120_000);

  afterAll(async () => {
    await records?.close();
  });

  type As = { sub: string; role: Parameters<typeof auth.token>[1] };
  const DR_A: As = { sub: 'Practitioner/dr-synthea', role: 'practitioner' };
  const DR_B: As = { sub: 'Practitioner/dr-elsewhere', role: 'practitioner' };
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
  const ids = (bundle: Record<string, unknown>) =>
    ((bundle['entry'] as Array<{ resource: { id: string } }> | undefined) ?? []).map((e) => e.resource.id);

  const sct = (code: string) => ({ coding: [{ system: 'http://snomed.info/sct', code }] });
  const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
  const medication = { medicationCodeableConcept: { coding: [{ system: RXNORM, code: '313782' }] } };

  /** One of each new type, as Synthea writes them (trimmed), in the order an integrator posts them. */
  function record(p: string, encounter: () => string): Array<[string, () => Record<string, unknown>]> {
    const subject = { subject: { reference: `Patient/${p}` } };
    return [
      [
        'Encounter',
        () => ({
          status: 'finished',
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
          type: [sct('185349003')],
          ...subject,
          period: { start: '2026-11-02T09:00:00Z', end: '2026-11-02T09:30:00Z' },
        }),
      ],
      [
        'MedicationRequest',
        () => ({ status: 'active', intent: 'order', ...medication, ...subject, authoredOn: '2026-11-02T09:20:00Z' }),
      ],
      [
        'Procedure',
        () => ({
          status: 'completed',
          code: sct('430193006'),
          ...subject,
          performedPeriod: { start: '2026-11-02T09:05:00Z', end: '2026-11-02T09:15:00Z' },
        }),
      ],
      [
        'DiagnosticReport',
        () => ({
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '51990-0' }] },
          ...subject,
          encounter: { reference: `Encounter/${encounter()}` },
          effectiveDateTime: '2026-11-02T09:10:00Z',
        }),
      ],
      [
        'Immunization',
        () => ({
          status: 'completed',
          vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '140' }] },
          patient: { reference: `Patient/${p}` },
          occurrenceDateTime: '2026-11-02T09:25:00Z',
          primarySource: true,
        }),
      ],
      [
        'CarePlan',
        () => ({
          status: 'active',
          intent: 'order',
          category: [sct('736353004')],
          ...subject,
          period: { start: '2026-11-02' },
        }),
      ],
      [
        'CareTeam',
        () => ({
          status: 'active',
          ...subject,
          period: { start: '2026-11-02' },
          participant: [{ member: { reference: DR_A.sub } }],
        }),
      ],
      ['Device', () => ({ status: 'active', type: sct('72506001'), patient: { reference: `Patient/${p}` } })],
      [
        'Provenance',
        () => ({
          target: [{ reference: `Patient/${p}` }, { reference: `Encounter/${encounter()}` }],
          recorded: '2026-11-02T09:45:00Z',
          agent: [{ who: { reference: DR_A.sub } }],
        }),
      ],
      [
        'Goal',
        () => ({
          lifecycleStatus: 'active',
          description: { text: 'Walk every day' },
          ...subject,
          startDate: '2026-11-02',
        }),
      ],
      [
        'ServiceRequest',
        () => ({
          status: 'active',
          intent: 'order',
          code: sct('183519002'),
          ...subject,
          authoredOn: '2026-11-02T09:30:00Z',
        }),
      ],
      [
        'Specimen',
        () => ({
          status: 'available',
          type: sct('119297000'),
          ...subject,
          collection: { collectedDateTime: '2026-11-02T09:12:00Z' },
        }),
      ],
      [
        'MedicationAdministration',
        () => ({ status: 'completed', ...medication, ...subject, effectiveDateTime: '2026-11-02T09:22:00Z' }),
      ],
      [
        'MedicationDispense',
        () => ({ status: 'completed', ...medication, ...subject, whenHandedOver: '2026-11-02T10:00:00Z' }),
      ],
      [
        'FamilyMemberHistory',
        () => ({
          status: 'completed',
          patient: { reference: `Patient/${p}` },
          relationship: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'FTH' }] },
          condition: [{ code: sct('22298006') }],
          date: '2026-11-02',
        }),
      ],
      ['ClinicalImpression', () => ({ status: 'completed', ...subject, date: '2026-11-02T09:35:00Z' })],
      [
        'ImagingStudy',
        () => ({
          status: 'available',
          ...subject,
          started: '2026-11-02T09:08:00Z',
          series: [
            {
              uid: '1.2.840.99999999.1.59354388.1574346',
              modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'DX' },
            },
          ],
        }),
      ],
    ];
  }
  const TYPES = record('x', () => 'x').map(([type]) => type);

  /** A patient whose record holds one resource of each new type and a Condition, all posted one by one. */
  async function newRecord(): Promise<{ p: string; made: Map<string, string>; condition: string }> {
    const registered = await call(DR_A, 'POST', '/fhir/Patient', { resourceType: 'Patient', gender: 'female' });
    expect(registered.status).toBe(201);
    const p = registered.body['id'] as string;
    const made = new Map<string, string>();
    for (const [type, body] of record(p, () => made.get('Encounter') ?? '')) {
      const { status, body: answer } = await call(patient(p), 'POST', `/fhir/${type}`, {
        resourceType: type,
        ...body(),
      });
      expect({ type, status, answer }).toMatchObject({ type, status: 201 });
      made.set(type, answer['id'] as string);
    }
    const condition = await call(patient(p), 'POST', '/fhir/Condition', {
      resourceType: 'Condition',
      code: sct('44054006'),
      subject: { reference: `Patient/${p}` },
    });
    expect(condition.status).toBe(201);
    return { p, made, condition: condition.body['id'] as string };
  }

  it('stores every resource of the record, reads each back and searches it by its R4 parameters', async () => {
    const { p, made } = await newRecord();
    expect([...made.keys()]).toEqual(TYPES);
    for (const [type, body] of record(p, () => made.get('Encounter') ?? '')) {
      const id = made.get(type) ?? '';
      const read = await call(patient(p), 'GET', `/fhir/${type}/${id}`);
      expect(read).toMatchObject({
        status: 200,
        body: { resourceType: type, id, meta: { versionId: '1' }, ...body() },
      });
      const found = await call(patient(p), 'GET', `/fhir/${type}?patient=Patient/${p}`);
      expect({ type, ids: ids(found.body) }).toEqual({ type, ids: [id] });
    }
    const search = async (type: string, query: string) =>
      ids((await call(patient(p), 'GET', `/fhir/${type}?patient=${p}&${query}`)).body);
    const cases: Array<[string, string, boolean]> = [
      ['Encounter', 'type=http://snomed.info/sct|185349003&date=2026-11-02&status=finished', true],
      ['Encounter', 'date=2025', false],
      ['Procedure', 'code=430193006&date=ge2026-11-02T09:00:00Z', true],
      ['Procedure', 'code=80146002', false],
      ['MedicationRequest', `code=${RXNORM}|313782&authoredon=2026-11&status=active`, true],
      ['Immunization', 'vaccine-code=140&date=2026-11-02', true],
      ['Immunization', 'date=lt2026-11-02', false],
      ['DiagnosticReport', 'code=51990-0&date=2026-11-02T09:10:00Z&status=final', true],
      ['CarePlan', 'status=completed', false],
      ['Goal', 'lifecycle-status=active&start-date=2026-11-02', true],
      ['Device', 'type=72506001&status=active', true],
      ['Specimen', 'collected=2026-11-02', true],
      ['MedicationDispense', 'whenhandedover=2026-11-02&code=313782', true],
      ['FamilyMemberHistory', 'code=22298006', true],
      ['Provenance', 'recorded=2026-11-02', true],
      ['ClinicalImpression', '_lastUpdated=ge2000-01-01&status=completed', true],
      ['ImagingStudy', 'modality=DX&started=2026-11-02&status=available', true],
    ];
    for (const [type, query, hit] of cases)
      expect({ type, query, ids: await search(type, query) }).toEqual({
        type,
        query,
        ids: hit ? [made.get(type)] : [],
      });
    // A parameter the type does not have is refused, naming the ones it has.
    const unknown = await call(patient(p), 'GET', `/fhir/Encounter?patient=${p}&vaccine-code=140`);
    expect(unknown).toMatchObject({ status: 400, body: { issue: [{ expression: ['vaccine-code'] }] } });
  });

  it('refuses each to a practitioner without consent as an unknown id, audits it, and allows what the class names', async () => {
    const { p, made, condition } = await newRecord();
    for (const [type, id] of made) {
      const refused = await call(DR_B, 'GET', `/fhir/${type}/${id}`);
      expect({ type, refused }).toMatchObject({
        type,
        refused: { status: 404, body: { code: 'RECORDS.RESOURCE_NOT_FOUND' } },
      });
    }
    const disclosures = async () =>
      (
        (await call(patient(p), 'GET', `/fhir/Patient/${p}/$disclosures?_count=1000`)).body as {
          disclosures: Array<{
            actor: string;
            outcome: string;
            basis: string;
            resourceType?: string;
            interaction: string;
          }>;
        }
      ).disclosures.filter((d) => d.actor === DR_B.sub);
    expect((await disclosures()).map((d) => [d.resourceType, d.interaction, d.outcome, d.basis])).toEqual(
      TYPES.map((type) => [type, 'read', '4', 'default-deny']),
    );

    // OPTOUT (nothing shared) but what the provision permits: Dr B may read the new types, not the Condition.
    const consent = await call(patient(p), 'POST', '/fhir/Consent', {
      resourceType: 'Consent',
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: `Patient/${p}` },
      policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTOUT' }] },
      provision: {
        type: 'permit',
        actor: [
          {
            role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
            reference: { reference: DR_B.sub },
          },
        ],
        action: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }] }],
        class: TYPES.map((code) => ({ system: 'http://hl7.org/fhir/resource-types', code })),
      },
    });
    expect(consent.status).toBe(201);
    const consentId = consent.body['id'] as string;
    for (const [type, id] of made) {
      const allowed = await call(DR_B, 'GET', `/fhir/${type}/${id}`);
      expect({ type, status: allowed.status }).toEqual({ type, status: 200 });
      expect(ids((await call(DR_B, 'GET', `/fhir/${type}?patient=${p}`)).body)).toEqual([id]);
    }
    expect((await call(DR_B, 'GET', `/fhir/Condition/${condition}`)).status).toBe(404);
    const audited = (await disclosures()).filter((d) => d.outcome === '0' && d.interaction === 'read');
    expect(audited.map((d) => [d.resourceType, d.basis])).toEqual(TYPES.map((type) => [type, 'consent']));
    expect(consentId).toBeTruthy();

    // $everything shows Dr B exactly what the class names.
    const everything = await call(DR_B, 'GET', `/fhir/Patient/${p}/$everything`);
    const types = (everything.body['entry'] as Array<{ resource: { resourceType: string } }>).map(
      (e) => e.resource.resourceType,
    );
    expect(types.sort()).toEqual([...TYPES].sort());
  });

  it('lists exactly the types served and their search parameters in the CapabilityStatement', async () => {
    const statement = (await (await fetch(`${records.baseUrl}/fhir/metadata`)).json()) as {
      rest: Array<{ resource: Array<{ type: string; searchParam: Array<{ name: string; type: string }> }> }>;
    };
    const served = statement.rest[0]?.resource ?? [];
    expect(served.map((r) => r.type).sort()).toEqual(
      [
        'Patient',
        'Observation',
        'Condition',
        'MedicationStatement',
        'AllergyIntolerance',
        'DocumentReference',
        'Consent',
        ...TYPES,
      ].sort(),
    );
    const params = (type: string) => served.find((r) => r.type === type)?.searchParam.map((p) => `${p.name}:${p.type}`);
    expect(params('Encounter')).toEqual([
      'patient:reference',
      'type:token',
      'status:token',
      'date:date',
      '_id:token',
      '_lastUpdated:date',
    ]);
    expect(params('Immunization')).toEqual([
      'patient:reference',
      'vaccine-code:token',
      'status:token',
      'date:date',
      '_id:token',
      '_lastUpdated:date',
    ]);
    expect(params('MedicationRequest')).toContain('authoredon:date');
    expect(params('Provenance')).toEqual(['patient:reference', 'recorded:date', '_id:token', '_lastUpdated:date']);
  });

  it('makes every resource of the record unreadable once the patient erases it', async () => {
    const { p, made } = await newRecord();
    expect((await call(patient(p), 'POST', `/fhir/Patient/${p}/$erase`)).status).toBe(200);
    for (const [type, id] of made) {
      const gone = await call(patient(p), 'GET', `/fhir/${type}/${id}`);
      expect({ type, gone }).toMatchObject({ type, gone: { status: 410, body: { code: 'RECORDS.PATIENT_ERASED' } } });
    }
  });

  it("refuses a Provenance that names no patient among its targets, naming the compartment's element", async () => {
    const { p, made } = await newRecord();
    const orphan = await call(patient(p), 'POST', '/fhir/Provenance', {
      resourceType: 'Provenance',
      target: [{ reference: `Encounter/${made.get('Encounter') ?? ''}` }],
      recorded: '2026-11-02T09:45:00Z',
      agent: [{ who: { reference: DR_A.sub } }],
    });
    expect(orphan).toMatchObject({
      status: 422,
      body: {
        issue: [
          { expression: ['Provenance.target'], details: { coding: [{ code: 'RECORDS.NOT_IN_A_PATIENT_RECORD' }] } },
        ],
      },
    });
  });
});

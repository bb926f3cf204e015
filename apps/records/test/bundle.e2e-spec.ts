import { randomBytes, randomUUID } from 'node:crypto';
import { ed25519PublicKeyFromSeed, verifierKey } from '@medledger/ledger-core';
import {
  eventually,
  startLedgerProcess,
  testAuth,
  uniqueSuffix,
  type LedgerProcess,
  type RunningService,
} from '@medledger/testing';
import { startRecords } from './records-service';

/**
 * Issue 16 item 18: a patient's record imported as one FHIR Bundle at `POST /fhir`, through HTTP on real Kafka,
 * PostgreSQL and the ledger: a transaction stores every entry (urn:uuid references rewritten to the new ids) or
 * none, naming the entry that failed; a batch answers each entry; every stored resource is audited and its events
 * are sealed by the ledger as a single write's are.
 */
describe('records: a record imported as a FHIR Bundle', () => {
  const seed = randomBytes(32);
  const eventsTopic = `test.${uniqueSuffix()}.records.events`;
  const auth = testAuth('records');
  let ledger: LedgerProcess;
  let records: RunningService;

  beforeAll(async () => {
    ledger = await startLedgerProcess({
      topics: [eventsTopic],
      producerKeys: [verifierKey('records', ed25519PublicKeyFromSeed(seed))],
      env: { LEDGER_BLOCK_MAX_AGE_MS: '50' },
    });
    records = await startRecords(auth, {
      EVENT_SIGNING_KEY: seed.toString('base64'),
      PUBLIC_EVENTS_TOPIC: eventsTopic,
      LEDGER_URL: ledger.baseUrl,
      LEDGER_VERIFIER_KEYS: ledger.verifierKey,
      LEDGER_ORIGIN: ledger.origin,
    });
  }, 120_000);

  afterAll(async () => {
    await records?.close();
    await ledger?.stop();
  });

  type As = { sub: string; role: Parameters<typeof auth.token>[1] };
  const DR_A: As = { sub: 'Practitioner/dr-import', role: 'practitioner' };
  const DR_B: As = { sub: 'Practitioner/dr-none', role: 'practitioner' };
  const patient = (id: string): As => ({ sub: `Patient/${id}`, role: 'patient' });

  async function call(as: As, method: string, path: string, body?: unknown) {
    const token = await auth.token(as.sub, as.role);
    return fetch(records.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  }
  async function json<T = Record<string, unknown>>(response: Response, status: number): Promise<T> {
    const body = (await response.json()) as T;
    if (response.status !== status)
      throw new Error(`expected ${status}, got ${response.status}: ${JSON.stringify(body).slice(0, 2000)}`);
    return body;
  }

  async function newPatient(): Promise<string> {
    const created = await json<{ id: string }>(
      await call(DR_A, 'POST', '/fhir/Patient', {
        resourceType: 'Patient',
        name: [{ family: `Import-${uniqueSuffix()}` }],
        birthDate: '1961-07-14',
      }),
      201,
    );
    return created.id;
  }
  /** The patient lets `actor` read and write their record (a `correct` permit, as single writes need). */
  async function permitWrites(patientId: string, actor: string): Promise<void> {
    await json(
      await call(patient(patientId), 'POST', '/fhir/Consent', {
        resourceType: 'Consent',
        status: 'active',
        scope: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
        },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
        patient: { reference: `Patient/${patientId}` },
        policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTOUT' }] },
        provision: {
          type: 'permit',
          actor: [
            {
              role: {
                coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }],
              },
              reference: { reference: actor },
            },
          ],
          action: ['access', 'correct'].map((code) => ({
            coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code }],
          })),
        },
      }),
      201,
    );
  }

  const LOINC = (code: string) => ({ coding: [{ system: 'http://loinc.org', code }] });
  const SNOMED = (code: string) => ({ coding: [{ system: 'http://snomed.info/sct', code }] });
  const observation = (subject: string, extra: Record<string, unknown> = {}) => ({
    resourceType: 'Observation',
    status: 'final',
    code: LOINC('2339-0'),
    subject: { reference: subject },
    effectiveDateTime: '2026-10-01T09:30:00Z',
    valueQuantity: { value: 6.3, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
    ...extra,
  });
  const condition = (subject: string, evidence: string) => ({
    resourceType: 'Condition',
    clinicalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
    },
    code: SNOMED('44054006'),
    subject: { reference: subject },
    onsetDateTime: '2026-10-01',
    evidence: [{ detail: [{ reference: evidence }] }],
  });
  const entry = (fullUrl: string | undefined, resource: Record<string, unknown>, method = 'POST', url?: string) => ({
    ...(fullUrl && { fullUrl }),
    resource,
    request: { method, url: url ?? (resource['resourceType'] as string) },
  });
  const urn = () => `urn:uuid:${randomUUID()}`;

  type ResponseBundle = {
    resourceType: string;
    type: string;
    entry: Array<{
      response: {
        status: string;
        location?: string;
        etag?: string;
        lastModified?: string;
        extension?: Array<{ url: string; valueId: string }>;
        outcome?: {
          issue: Array<{ code: string; expression?: string[]; details?: { coding: Array<{ code: string }> } }>;
        };
      };
    }>;
  };
  type Outcome = {
    resourceType: string;
    issue: Array<{
      code: string;
      diagnostics?: string;
      expression?: string[];
      details: { coding: Array<{ code: string }> };
    }>;
  };

  /** The small record of the import tests: the Patient (updated) and five clinical types referring to each other. */
  function smallRecord(patientId: string) {
    const [p, o, c, a, m, d] = [urn(), urn(), urn(), urn(), urn(), urn()];
    return {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        entry(
          p,
          { resourceType: 'Patient', id: patientId, name: [{ family: 'Imported' }], birthDate: '1961-07-14' },
          'PUT',
          `Patient/${patientId}`,
        ),
        entry(c, condition(p, o)),
        entry(o, observation(p)),
        entry(a, {
          resourceType: 'AllergyIntolerance',
          clinicalStatus: {
            coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }],
          },
          code: SNOMED('227493005'),
          patient: { reference: p },
        }),
        entry(m, {
          resourceType: 'MedicationStatement',
          status: 'active',
          medicationCodeableConcept: {
            coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '860975' }],
          },
          subject: { reference: p },
          reasonReference: [{ reference: c }],
        }),
        entry(d, {
          resourceType: 'DocumentReference',
          status: 'current',
          type: LOINC('11506-3'),
          subject: { reference: p },
          content: [
            { attachment: { contentType: 'text/plain', data: Buffer.from('Seen for diabetes').toString('base64') } },
          ],
          context: { related: [{ reference: o }] },
        }),
      ],
    };
  }

  const idOf = (location: string | undefined) => location?.split('/')[3] as string;

  it('stores a transaction whole, each urn:uuid reference rewritten to the new id, every entry audited', async () => {
    const patientId = await newPatient();
    const bundle = smallRecord(patientId);
    const answer = await json<ResponseBundle>(await call(patient(patientId), 'POST', '/fhir', bundle), 200);
    expect(answer.type).toBe('transaction-response');
    // In the request's order, whatever the processing order (the PUT is processed after the POSTs).
    expect(answer.entry.map((e) => e.response.status)).toEqual([
      '200 OK',
      '201 Created',
      '201 Created',
      '201 Created',
      '201 Created',
      '201 Created',
    ]);
    expect(answer.entry[0]?.response).toMatchObject({
      location: `/fhir/Patient/${patientId}/_history/2`,
      etag: 'W/"2"',
    });
    const [, condition, observationAt, allergy, medication, document] = answer.entry.map((e) => e.response.location);
    expect(condition).toMatch(/^\/fhir\/Condition\/[0-9a-f-]{36}\/_history\/1$/);
    const read = async (location: string | undefined) =>
      json<Record<string, unknown>>(
        await call(patient(patientId), 'GET', (location as string).replace(/\/_history\/\d+$/, '')),
        200,
      );
    const observationId = idOf(observationAt);
    const conditionId = idOf(condition);
    expect(await read(condition)).toMatchObject({
      subject: { reference: `Patient/${patientId}` },
      evidence: [{ detail: [{ reference: `Observation/${observationId}` }] }],
    });
    expect(await read(observationAt)).toMatchObject({ subject: { reference: `Patient/${patientId}` } });
    expect(await read(allergy)).toMatchObject({ patient: { reference: `Patient/${patientId}` } });
    expect(await read(medication)).toMatchObject({ reasonReference: [{ reference: `Condition/${conditionId}` }] });
    expect(await read(document)).toMatchObject({
      context: { related: [{ reference: `Observation/${observationId}` }] },
    });
    expect(await read(`/fhir/Patient/${patientId}`)).toMatchObject({
      name: [{ family: 'Imported' }],
      meta: { versionId: '2' },
    });

    // Each stored version has its AuditEvent, as a single write has.
    const audit = await json<{
      entry: Array<{ resource: { subtype: Array<{ code: string }>; entity: Array<{ what: { reference: string } }> } }>;
    }>(await call(patient(patientId), 'GET', `/fhir/AuditEvent?patient=Patient/${patientId}&_count=1000`), 200);
    const audited = audit.entry.flatMap((e) =>
      e.resource.entity.map((entity) => `${e.resource.subtype[0]?.code} ${entity.what.reference}`),
    );
    for (const [i, e] of answer.entry.entries()) {
      const what = (e.response.location as string).replace(/^\/fhir\//, '');
      expect(audited).toContain(`${i === 0 ? 'update' : 'create'} ${what}`);
    }
  });

  it('decides each entry as its single write: a practitioner the patient permits imports, another is refused and nothing is stored', async () => {
    const patientId = await newPatient();
    await permitWrites(patientId, DR_A.sub);
    const bundle = smallRecord(patientId);
    // The first entry processed (the creates come before the PUT) is refused as its single write would be: the
    // answer of an unknown patient; nothing of the Bundle is kept.
    const refused = await json<Outcome>(await call(DR_B, 'POST', '/fhir', bundle), 422);
    expect(refused.issue[0]).toMatchObject({
      expression: ['Bundle.entry[1]'],
      details: { coding: [{ code: 'RECORDS.UNKNOWN_PATIENT' }] },
    });
    expect(
      (await json<{ total: number }>(await call(DR_A, 'GET', `/fhir/Condition?patient=${patientId}`), 200)).total,
    ).toBe(0);

    const answer = await json<ResponseBundle>(await call(DR_A, 'POST', '/fhir', bundle), 200);
    expect(answer.entry).toHaveLength(6);
    const disclosures = await json<{
      disclosures: Array<{ actor: string; interaction: string; resourceId?: string; outcome: string }>;
    }>(await call(patient(patientId), 'GET', `/fhir/Patient/${patientId}/$disclosures?_count=1000`), 200);
    const mine = disclosures.disclosures.filter((d) => d.actor === DR_A.sub && d.outcome === '0');
    for (const e of answer.entry.slice(1))
      expect(mine).toContainEqual(
        expect.objectContaining({ interaction: 'create', resourceId: idOf(e.response.location) }),
      );
    expect(disclosures.disclosures).toContainEqual(expect.objectContaining({ actor: DR_B.sub, outcome: '4' }));
  });

  it('refuses a transaction with one bad entry whole, naming the entry, and stores nothing', async () => {
    const patientId = await newPatient();
    const me = patient(patientId);
    const count = async (type: string) =>
      (await json<{ total: number }>(await call(me, 'GET', `/fhir/${type}?patient=${patientId}`), 200)).total;
    const o = urn();
    const { status: _status, ...withoutStatus } = observation(`Patient/${patientId}`);
    const invalid = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        entry(o, observation(`Patient/${patientId}`)),
        entry(urn(), condition(`Patient/${patientId}`, o)),
        entry(urn(), withoutStatus),
      ],
    };
    const outcome = await json<Outcome>(await call(me, 'POST', '/fhir', invalid), 400);
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0]).toMatchObject({
      code: 'required',
      expression: ['Bundle.entry[2]', 'Observation.status'],
      details: { coding: [{ code: 'RECORDS.INVALID_RESOURCE' }] },
    });

    // A Claim: records keeps no billing resources; the whole transaction is refused on it.
    const claim = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [entry(o, observation(`Patient/${patientId}`)), entry(urn(), { resourceType: 'Claim', status: 'active' })],
    };
    const notSupported = await json<Outcome>(await call(me, 'POST', '/fhir', claim), 404);
    expect(notSupported.issue[0]).toMatchObject({
      code: 'not-supported',
      expression: ['Bundle.entry[1]', 'Bundle.entry[1].request.url'],
      details: { coding: [{ code: 'RECORDS.UNSUPPORTED_TYPE' }] },
    });

    // A reference to no entry.
    const dangling = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [entry(urn(), condition(`Patient/${patientId}`, urn()))],
    };
    expect((await json<Outcome>(await call(me, 'POST', '/fhir', dangling), 400)).issue[0]).toMatchObject({
      expression: ['Bundle.entry[0]', 'Condition.evidence[0].detail[0].reference'],
      details: { coding: [{ code: 'RECORDS.UNRESOLVED_REFERENCE' }] },
    });

    // A failure inside the database transaction, after the creates were appended: they are rolled back with it.
    const stale = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        entry(
          urn(),
          { resourceType: 'Patient', id: patientId, birthDate: '1961-07-14' },
          'PUT',
          `Patient/${patientId}`,
        ),
        entry(o, observation(`Patient/${patientId}`)),
        entry(urn(), condition(`Patient/${patientId}`, o)),
      ].map((e, i) => (i === 0 ? { ...e, request: { ...e.request, ifMatch: 'W/"7"' } } : e)),
    };
    expect((await json<Outcome>(await call(me, 'POST', '/fhir', stale), 412)).issue[0]).toMatchObject({
      expression: ['Bundle.entry[0]'],
      details: { coding: [{ code: 'RECORDS.VERSION_MISMATCH' }] },
    });
    // The refused update is in the audit trail, as a single write's failed attempt is (outcome 4, its reason).
    const trail = await json<{ entry: Array<{ resource: { outcome: string; outcomeDesc?: string } }> }>(
      await call(me, 'GET', `/fhir/AuditEvent?patient=Patient/${patientId}&_count=1000`),
      200,
    );
    expect(trail.entry.map((e) => e.resource)).toContainEqual(
      expect.objectContaining({
        outcome: '4',
        outcomeDesc: expect.stringContaining('RECORDS.VERSION_MISMATCH') as string,
      }),
    );

    expect(await count('Observation')).toBe(0);
    expect(await count('Condition')).toBe(0);
    expect(
      (await json<{ meta: { versionId: string } }>(await call(me, 'GET', `/fhir/Patient/${patientId}`), 200)).meta
        .versionId,
    ).toBe('1');
  });

  it("imports a record with the Patient it registers, as generated records come: the registrant writes it, then the patient's consents decide", async () => {
    const [p, o] = [urn(), urn()];
    const registration = (...more: Array<ReturnType<typeof entry>>) => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [entry(p, { resourceType: 'Patient', name: [{ family: 'New' }] }), ...more],
    });
    // Someone who may not register a patient may not bring their record either: the Patient entry is refused.
    const caregiver: As = { sub: 'RelatedPerson/carer', role: 'related-person' };
    expect(
      (await json<Outcome>(await call(caregiver, 'POST', '/fhir', registration(entry(o, observation(p)))), 403))
        .issue[0],
    ).toMatchObject({ expression: ['Bundle.entry[0]'] });
    // A patient's consents are theirs to give: not in the Bundle that registers them.
    const consent = {
      resourceType: 'Consent',
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: p },
      policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTOUT' }] },
      provision: {
        type: 'permit',
        actor: [
          {
            role: {
              coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }],
            },
            reference: { reference: DR_A.sub },
          },
        ],
      },
    };
    expect(
      (await json<Outcome>(await call(DR_A, 'POST', '/fhir', registration(entry(urn(), consent))), 422)).issue[0],
    ).toMatchObject({ expression: ['Bundle.entry[1]'], details: { coding: [{ code: 'RECORDS.UNKNOWN_PATIENT' }] } });

    // The practitioner who registers the patient brings the record in the same transaction.
    const answer = await json<ResponseBundle>(
      await call(DR_A, 'POST', '/fhir', registration(entry(o, observation(p)), entry(urn(), condition(p, o)))),
      200,
    );
    expect(answer.entry.map((e) => e.response.status)).toEqual(['201 Created', '201 Created', '201 Created']);
    const [patientAt, observationAt, conditionAt] = answer.entry.map((e) => e.response.location as string) as [
      string,
      string,
      string,
    ];
    const patientId = idOf(patientAt);
    const path = (location: string) => location.replace(/\/_history\/\d+$/, '');
    // The new patient reads their record, its references rewritten to the new ids.
    expect(await json(await call(patient(patientId), 'GET', path(observationAt)), 200)).toMatchObject({
      subject: { reference: `Patient/${patientId}` },
    });
    expect(await json(await call(patient(patientId), 'GET', path(conditionAt)), 200)).toMatchObject({
      evidence: [{ detail: [{ reference: `Observation/${idOf(observationAt)}` }] }],
    });
    // From now on the patient's consents decide, for the registrant too: none yet, so no read and no more writes.
    expect((await call(DR_A, 'GET', path(observationAt))).status).toBe(404);
    expect((await call(DR_A, 'POST', '/fhir/Observation', observation(`Patient/${patientId}`))).status).toBe(422);
    // Each entry is audited as the registrant's write, with the basis it was allowed on.
    const audit = await json<{
      entry: Array<{
        resource: {
          subtype: Array<{ code: string }>;
          entity: Array<{ what: { reference: string } }>;
          agent: Array<{ who?: { reference?: string } }>;
        };
      }>;
    }>(await call(patient(patientId), 'GET', `/fhir/AuditEvent?patient=Patient/${patientId}&_count=1000`), 200);
    const creates = audit.entry
      .filter((e) => e.resource.subtype[0]?.code === 'create')
      .flatMap((e) => e.resource.entity.map((entity) => entity.what.reference));
    expect(creates).toEqual(
      expect.arrayContaining([patientAt, observationAt, conditionAt].map((at) => at.replace(/^\/fhir\//, ''))),
    );
  });

  it('answers a batch entry by entry: a bad entry and a Claim are refused, the others stored', async () => {
    const patientId = await newPatient();
    const me = patient(patientId);
    const o = urn();
    const { status: _status, ...withoutStatus } = observation(`Patient/${patientId}`);
    const batch = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        entry(o, observation(`Patient/${patientId}`)),
        entry(urn(), withoutStatus),
        entry(urn(), { resourceType: 'Claim', status: 'active' }),
        entry(urn(), { resourceType: 'ExplanationOfBenefit', status: 'active' }),
        entry(urn(), condition(`Patient/${patientId}`, o)),
        entry(urn(), condition(`Patient/${patientId}`, `Observation/${randomUUID()}`)),
      ],
    };
    const answer = await json<ResponseBundle>(await call(me, 'POST', '/fhir', batch), 200);
    expect(answer.type).toBe('batch-response');
    expect(answer.entry.map((e) => e.response.status)).toEqual([
      '201 Created',
      '400 Bad Request',
      '404 Not Found',
      '404 Not Found',
      '400 Bad Request',
      '201 Created',
    ]);
    const codes = answer.entry.map((e) => e.response.outcome?.issue[0]?.details?.coding[0]?.code);
    expect(codes).toEqual([
      undefined,
      'RECORDS.INVALID_RESOURCE',
      'RECORDS.UNSUPPORTED_TYPE',
      'RECORDS.UNSUPPORTED_TYPE',
      'RECORDS.UNRESOLVED_REFERENCE',
      undefined,
    ]);
    expect(answer.entry[2]?.response.outcome?.issue[0]?.code).toBe('not-supported');
    expect(
      (await json<{ total: number }>(await call(me, 'GET', `/fhir/Observation?patient=${patientId}`), 200)).total,
    ).toBe(1);
    expect(
      (await json<{ total: number }>(await call(me, 'GET', `/fhir/Condition?patient=${patientId}`), 200)).total,
    ).toBe(1);
  });

  it("seals the imported resources' events and their audits in the ledger, as single writes are", async () => {
    const patientId = await newPatient();
    await permitWrites(patientId, DR_A.sub);
    const answer = await json<ResponseBundle>(await call(DR_A, 'POST', '/fhir', smallRecord(patientId)), 200);
    const eventIds = answer.entry.map((e) => e.response.extension?.[0]?.valueId as string);
    expect(eventIds.every((id) => /^[0-9a-f-]{36}$/.test(id))).toBe(true);
    const bearer = { authorization: `Bearer ${await auth.token(DR_A.sub, DR_A.role)}` };
    for (const eventId of eventIds)
      await eventually(
        async () =>
          (await fetch(`${records.baseUrl}/v1/events/${eventId}/receipt`, { headers: bearer })).status === 200
            ? true
            : undefined,
        { timeoutMs: 30_000 },
      );
    // The AuditEvents of the import (the practitioner's accesses: in the accounting) are sealed too.
    const created = new Set(answer.entry.slice(1).map((e) => idOf(e.response.location)));
    await eventually(
      async () => {
        const { disclosures } = await json<{
          disclosures: Array<{ resourceId?: string; interaction: string; receipt: unknown }>;
        }>(await call(patient(patientId), 'GET', `/fhir/Patient/${patientId}/$disclosures?_count=1000`), 200);
        const sealed = disclosures.filter(
          (d) => d.interaction === 'create' && created.has(d.resourceId as string) && d.receipt,
        );
        return sealed.length === created.size ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );
  });

  it('refuses an import into an erased record (410), naming the entry', async () => {
    const patientId = await newPatient();
    const me = patient(patientId);
    await json(await call(me, 'POST', `/fhir/Patient/${patientId}/$erase`), 200);
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [entry(urn(), observation(`Patient/${patientId}`))],
    };
    expect((await json<Outcome>(await call(me, 'POST', '/fhir', bundle), 410)).issue[0]).toMatchObject({
      expression: ['Bundle.entry[0]'],
      details: { coding: [{ code: 'RECORDS.PATIENT_ERASED' }] },
    });
  });

  it('says so in its CapabilityStatement', async () => {
    const statement = (await (await fetch(`${records.baseUrl}/fhir/metadata`)).json()) as {
      rest: Array<{ interaction?: Array<{ code: string }> }>;
    };
    expect(statement.rest[0]?.interaction?.map((i) => i.code)).toEqual(['transaction', 'batch']);
  });

  it('refuses what is not a transaction or batch, more than 5,000 entries, and a body over 16 MB, with their codes', async () => {
    const patientId = await newPatient();
    const me = patient(patientId);
    const code = (outcome: Outcome) => outcome.issue[0]?.details.coding[0]?.code;
    expect(
      code(
        await json<Outcome>(
          await call(me, 'POST', '/fhir', { resourceType: 'Bundle', type: 'collection', entry: [] }),
          400,
        ),
      ),
    ).toBe('RECORDS.INVALID_BUNDLE');
    const many = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: Array.from({ length: 5_001 }, () => entry(undefined, { resourceType: 'Observation' })),
    };
    expect(code(await json<Outcome>(await call(me, 'POST', '/fhir', many), 413))).toBe('RECORDS.BUNDLE_TOO_LARGE');
    const huge = await json<{ code: string }>(
      await call(me, 'POST', '/fhir', { resourceType: 'Bundle', type: 'batch', padding: 'x'.repeat(17 * 1024 * 1024) }),
      413,
    );
    expect(huge.code).toBe('HTTP.PAYLOAD_TOO_LARGE');
    // Between the platform's 1 MB and the Bundle's 16 MB: accepted here (a single resource's route still says 413).
    // Two notes (a markdown is at most 1 MB).
    const note = [{ text: 'n'.repeat(750_000) }, { text: 'm'.repeat(750_000) }];
    const big = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [entry(urn(), observation(`Patient/${patientId}`, { note }))],
    };
    expect((await json<ResponseBundle>(await call(me, 'POST', '/fhir', big), 200)).entry[0]?.response.status).toBe(
      '201 Created',
    );
    expect((await call(me, 'POST', '/fhir/Observation', observation(`Patient/${patientId}`, { note }))).status).toBe(
      413,
    );
  });
});

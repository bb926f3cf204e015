import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIAGNOSTICS_TOPIC, LEDGER_BLOCKS_TOPIC, PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import { EVENT_STORE_SQL, type Sql } from '@medledger/event-store';
import { ed25519PublicKeyFromSeed, verifierKey } from '@medledger/ledger-core';
import {
  eventually,
  jsonOf,
  recordTopics,
  startLedgerProcess,
  startService,
  testAuth,
  uniqueSuffix,
  runVerifyCli,
  type LedgerProcess,
  type RunningService,
  type TopicRecorder,
} from '@medledger/testing';
import { RecordsModule } from '../src/app.module';
import { patientElement } from '../src/fhir/domain';

/**
 * A patient's record through records' FHIR API, with the real ledger: HL7's examples, validation, the patient's
 * consents enforced on every access, break-glass, the audit trail anchored, and no PHI on any public topic.
 */
describe('records: the patient record', () => {
  const seed = randomBytes(32);
  const eventsTopic = `test.${uniqueSuffix()}.records.events`;
  const auth = testAuth('records');
  let ledger: LedgerProcess;
  let records: RunningService;
  let recorder: TopicRecorder;
  /** Every string of PHI this suite sent, to look for on Kafka at the end. */
  const phi = new Set<string>();

  beforeAll(async () => {
    ledger = await startLedgerProcess({
      topics: [eventsTopic],
      producerKeys: [verifierKey('records', ed25519PublicKeyFromSeed(seed))],
      env: { LEDGER_BLOCK_MAX_AGE_MS: '50' },
    });
    records = await startService('records', (config) =>
      RecordsModule.forRoot(config, {
        EVENT_SIGNING_KEY: seed.toString('base64'),
        PUBLIC_EVENTS_TOPIC: eventsTopic,
        LEDGER_URL: ledger.baseUrl,
        LEDGER_VERIFIER_KEYS: ledger.verifierKey,
        LEDGER_ORIGIN: ledger.origin,
        RECORDS_MASTER_KEY: randomBytes(32).toString('base64'),
        KEYS_DIR: `.data/test-keys/${uniqueSuffix()}`,
        ...auth.env,
      }),
    );
    // Every public topic: this suite's records topic, the shared ones of every service, blocks, diagnostics, DLQs.
    recorder = await recordTopics([
      eventsTopic,
      `${eventsTopic}.dlq`,
      ...Object.values(PUBLIC_EVENT_TOPICS),
      LEDGER_BLOCKS_TOPIC,
      DIAGNOSTICS_TOPIC,
    ]);
  }, 120_000);

  afterAll(async () => {
    await recorder?.stop();
    await records?.close();
    await ledger?.stop();
  });

  type As = { sub: string; role: Parameters<typeof auth.token>[1]; org?: string };
  const DR_A: As = { sub: 'Practitioner/dr-a', role: 'practitioner' };
  const DR_B: As = { sub: 'Practitioner/dr-b', role: 'practitioner' };
  const CARER: As = { sub: 'RelatedPerson/carer', role: 'related-person' };
  const AUDITOR: As = { sub: 'Practitioner/auditor', role: 'auditor' };
  const ADMIN: As = { sub: 'Organization/records-ops', role: 'org-admin' };
  const patient = (id: string): As => ({ sub: `Patient/${id}`, role: 'patient' });

  async function call(as: As, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const token = await auth.token(as.sub, as.role, as.org ? { org: as.org } : {});
    return fetch(records.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }
  async function created(response: Response): Promise<Record<string, unknown> & { id: string }> {
    const body = (await response.json()) as Record<string, unknown> & { id: string };
    if (response.status !== 201) throw new Error(`expected 201, got ${response.status}: ${JSON.stringify(body)}`);
    return body;
  }

  /** Remembers the PHI in a resource: every string under a name, address, telecom, text, note or display. */
  function rememberPhi(value: unknown, key = ''): void {
    if (typeof value === 'string') {
      // Words and phone numbers (not bare codes or numbers, which a hash or an index may contain by chance).
      const personal = key === 'birthDate' || (value.length >= 6 && /[A-Za-z ]/.test(value));
      if (/name|family|given|address|line|city|telecom|value|text|div|note|display|birthDate/i.test(key) && personal)
        phi.add(value);
    } else if (Array.isArray(value)) value.forEach((v) => rememberPhi(v, key));
    else if (value && typeof value === 'object')
      for (const [k, v] of Object.entries(value))
        rememberPhi(v, /^(name|address|telecom|text|note)$/.test(key) ? key : k);
  }

  let patientSeq = 0;
  async function newPatient(): Promise<string> {
    const resource = {
      resourceType: 'Patient',
      name: [{ family: `Zweistein-${++patientSeq}-${uniqueSuffix()}`, given: ['Alice'] }],
      birthDate: '1980-02-29',
      telecom: [{ system: 'phone', value: `+41 44 ${String(patientSeq).padStart(3, '0')} 77 66` }],
      address: [{ line: ['Bahnhofstrasse 42'], city: 'Winterthur' }],
    };
    rememberPhi(resource);
    return (await created(await call(DR_A, 'POST', '/fhir/Patient', resource))).id;
  }
  const observation = (patientId: string, code = '8867-4', date = '2026-11-20T08:00:00Z') => ({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code, display: 'Heart rate' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: date,
    valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
    note: [{ text: 'Felt dizzy after climbing the Bahnhofstrasse stairs' }],
  });
  async function newObservation(patientId: string, code?: string, date?: string): Promise<string> {
    const resource = observation(patientId, code, date);
    rememberPhi(resource);
    return (await created(await call(patient(patientId), 'POST', '/fhir/Observation', resource))).id;
  }

  const SCOPE = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] };
  const actorOf = (reference: string) => ({
    role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
    reference: { reference },
  });
  const action = (code: string) => ({
    coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code }],
  });
  function consent(patientId: string, provision: Record<string, unknown>, status = 'active') {
    return {
      resourceType: 'Consent',
      status,
      scope: SCOPE,
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: `Patient/${patientId}` },
      // R4: the base rule is the policyRule's and the root provision an exception to it: a permit is the exception
      // to OPTOUT (nothing shared but it), a deny the exception to OPTIN (ADR 0007).
      policyRule: {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
            code: provision['type'] === 'deny' ? 'OPTIN' : 'OPTOUT',
          },
        ],
      },
      provision,
    };
  }
  const permit = (reference: string, actions = ['access'], extra: Record<string, unknown> = {}) => ({
    type: 'permit',
    actor: [actorOf(reference)],
    action: actions.map(action),
    ...extra,
  });
  async function writeConsent(patientId: string, provision: Record<string, unknown>): Promise<string> {
    return (await created(await call(patient(patientId), 'POST', '/fhir/Consent', consent(patientId, provision)))).id;
  }

  /** Why the patient's record last refused someone, from the patient's accounting of disclosures. */
  async function lastRefusal(patientId: string): Promise<string | undefined> {
    const response = await call(patient(patientId), 'GET', `/fhir/Patient/${patientId}/$disclosures`);
    const { disclosures } = (await response.json()) as { disclosures: Array<{ outcome: string; basis: string }> };
    return disclosures.filter((d) => d.outcome === '4').at(-1)?.basis;
  }

  interface Case {
    setup?: (p: string) => Promise<unknown>;
    act: (p: string, obs: string) => Promise<Response>;
    status: number;
    basis: string;
  }
  const read = (as: As, headers?: Record<string, string>) => (_p: string, obs: string) =>
    call(as, 'GET', `/fhir/Observation/${obs}`, undefined, headers);

  test.each<[string, Case]>([
    ['the patient, in their own record', { act: (p, o) => read(patient(p))(p, o), status: 200, basis: 'self' }],
    ['anyone else without a consent (default deny)', { act: read(DR_A), status: 404, basis: 'default-deny' }],
    [
      'a practitioner the consent permits',
      { setup: (p) => writeConsent(p, permit(DR_A.sub)), act: read(DR_A), status: 200, basis: 'consent' },
    ],
    [
      'the wrong actor',
      { setup: (p) => writeConsent(p, permit(DR_A.sub)), act: read(DR_B), status: 404, basis: 'consent-deny' },
    ],
    [
      'the wrong action (access permitted, correction asked)',
      {
        setup: (p) => writeConsent(p, permit(DR_A.sub)),
        act: (p, o) => call(DR_A, 'PUT', `/fhir/Observation/${o}`, observation(p, '8867-4')),
        status: 404,
        basis: 'consent-deny',
      },
    ],
    [
      'a correction the consent permits',
      {
        setup: (p) => writeConsent(p, permit(DR_A.sub, ['access', 'correct'])),
        act: (p, o) => call(DR_A, 'PUT', `/fhir/Observation/${o}`, observation(p, '8867-4')),
        status: 200,
        basis: 'consent',
      },
    ],
    [
      'a deny (it wins over a permit)',
      {
        setup: async (p) => {
          await writeConsent(p, permit(DR_A.sub));
          await writeConsent(p, {
            type: 'deny',
            actor: [actorOf(DR_A.sub)],
            class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Observation' }],
          });
        },
        act: read(DR_A),
        status: 404,
        basis: 'consent-deny',
      },
    ],
    [
      'an expired consent',
      {
        setup: (p) =>
          writeConsent(p, permit(DR_A.sub, ['access'], { period: { start: '2020-01-01', end: '2021-01-01' } })),
        act: read(DR_A),
        status: 404,
        basis: 'consent-deny',
      },
    ],
    [
      'a revoked consent (on the next request)',
      {
        setup: async (p) => {
          const id = await writeConsent(p, permit(DR_A.sub));
          const before = await read(DR_A)(p, await newObservation(p));
          expect(before.status).toBe(200);
          const revoked = await call(
            patient(p),
            'PUT',
            `/fhir/Consent/${id}`,
            consent(p, permit(DR_A.sub), 'inactive'),
            {
              'if-match': 'W/"1"',
            },
          );
          expect(revoked.status).toBe(200);
        },
        act: read(DR_A),
        status: 404,
        basis: 'default-deny',
      },
    ],
    [
      'a caregiver the consent permits',
      { setup: (p) => writeConsent(p, permit(CARER.sub)), act: read(CARER), status: 200, basis: 'consent' },
    ],
    [
      'a practitioner of an organization the consent permits',
      {
        setup: (p) => writeConsent(p, permit('Organization/clinic-1')),
        act: read({ ...DR_B, org: 'Organization/clinic-1' }),
        status: 200,
        basis: 'consent',
      },
    ],
    [
      'a purpose the consent does not name',
      {
        setup: (p) =>
          writeConsent(
            p,
            permit(DR_A.sub, ['access'], {
              purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' }],
            }),
          ),
        act: read(DR_A, { 'x-purpose-of-use': 'HRESCH' }),
        status: 404,
        basis: 'consent-deny',
      },
    ],
    [
      'the purpose the consent names',
      {
        setup: (p) =>
          writeConsent(
            p,
            permit(DR_A.sub, ['access'], {
              purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' }],
            }),
          ),
        act: read(DR_A, { 'x-purpose-of-use': 'TREAT' }),
        status: 200,
        basis: 'consent',
      },
    ],
    [
      'break-glass, over a deny',
      {
        setup: async (p) => {
          await writeConsent(p, { type: 'deny', actor: [actorOf(DR_B.sub)] });
          const claim = await call(DR_B, 'POST', `/fhir/Patient/${p}/$break-glass`, {
            reason: 'unconscious in the ER',
          });
          expect(claim.status).toBe(201);
        },
        act: read(DR_B),
        status: 200,
        basis: 'break-glass',
      },
    ],
    [
      'break-glass does not allow corrections',
      {
        setup: (p) => call(DR_B, 'POST', `/fhir/Patient/${p}/$break-glass`, { reason: 'unconscious in the ER' }),
        act: (p, o) => call(DR_B, 'PUT', `/fhir/Observation/${o}`, observation(p)),
        status: 404,
        basis: 'default-deny',
      },
    ],
    ['an auditor reading a resource', { act: read(AUDITOR), status: 404, basis: 'role-deny' }],
    [
      "a practitioner reading the patient's consent",
      {
        setup: (p) => writeConsent(p, permit(DR_A.sub)),
        act: async (p) => call(DR_A, 'GET', `/fhir/Consent?patient=Patient/${p}`),
        status: 404,
        basis: 'role-deny',
      },
    ],
    [
      'a practitioner writing a consent for the patient',
      {
        act: (p) => call(DR_A, 'POST', '/fhir/Consent', consent(p, permit(DR_A.sub))),
        status: 422,
        basis: 'role-deny',
      },
    ],
  ])('consent: %s', async (_name, c) => {
    const p = await newPatient();
    const obs = await newObservation(p);
    await c.setup?.(p);
    const response = await c.act(p, obs);
    const body = (await response.json()) as Record<string, unknown>;
    expect({ status: response.status, body }).toMatchObject({ status: c.status });
    if (c.status === 200) expect(response.headers.get('x-medledger-access-basis')).toBe(c.basis);
    else {
      // A refusal answers exactly as an unknown id would (a write: as an unknown patient); its reason is in the
      // patient's accounting.
      if (c.status === 422)
        expect(body).toMatchObject({ issue: [{ details: { coding: [{ code: 'RECORDS.UNKNOWN_PATIENT' }] } }] });
      else expect(body).toMatchObject({ code: 'RECORDS.RESOURCE_NOT_FOUND' });
      expect(await lastRefusal(p)).toBe(c.basis);
    }
  });

  const examplesDir = join(__dirname, 'fixtures/hl7-examples');
  const examples = readdirSync(examplesDir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({
      file,
      resource: JSON.parse(readFileSync(join(examplesDir, file), 'utf8')) as Record<string, unknown>,
    }));

  it("accepts HL7's official examples of every stored type, and serves them back as sent", async () => {
    const owner = await newPatient();
    const outcomes: Array<{ file: string; status: number }> = [];
    for (const { file, resource } of examples) {
      rememberPhi(resource);
      const type = resource['resourceType'] as string;
      // Each example's patient becomes a patient of records (their own references name HL7's test patients): the
      // element of the type's Patient-compartment parameter names the owner. HL7's Devices name no patient and its
      // Provenances target no Patient (R4 places a Provenance by the Patient among its targets): one is added.
      const key = type === 'Patient' ? '' : (patientElement(type).split('.')[1] ?? 'subject');
      const reference = (resource[key] as { reference?: string } | undefined)?.reference;
      const owned = { reference: `Patient/${owner}` };
      const body =
        type === 'Patient' || reference?.startsWith('#')
          ? resource
          : type === 'Provenance'
            ? { ...resource, target: [...(resource['target'] as object[]), owned] }
            : { ...resource, [key]: { ...(resource[key] as object), ...owned } };
      const as = type === 'Patient' ? DR_A : patient(owner);
      const response = await call(as, 'POST', `/fhir/${type}`, body);
      const answer = (await response.json()) as Record<string, unknown>;
      outcomes.push({ file, status: response.status });
      if (response.status !== 201) continue;
      const { id: _id, meta: _meta, ...sent } = body;
      const readBack = await call(
        type === 'Patient' ? patient(answer['id'] as string) : as,
        'GET',
        `/fhir/${type}/${answer['id'] as string}`,
      );
      expect(await readBack.json()).toMatchObject({ ...sent, id: answer['id'], meta: { versionId: '1' } });
    }
    // The one example whose subject is a contained Patient names no patient of records: not a record's resource.
    expect(outcomes.filter((o) => o.status !== 201)).toEqual([
      { file: 'Observation-10minute-apgar-score.json', status: 422 },
    ]);
    expect(outcomes).toHaveLength(examples.length);
    expect(examples.length).toBeGreaterThanOrEqual(46);
  });

  it('refuses invalid resources with 400 and an OperationOutcome naming each element', async () => {
    const p = await newPatient();
    const cases: Array<[string, string, unknown, string, string]> = [
      [
        'Observation',
        'a missing status and code',
        { resourceType: 'Observation', subject: { reference: `Patient/${p}` } },
        'Observation.status',
        'RECORDS.INVALID_RESOURCE',
      ],
      [
        'Observation',
        'a status outside its required value set',
        { ...observation(p), status: 'done' },
        'Observation.status',
        'RECORDS.INVALID_RESOURCE',
      ],
      [
        'Condition',
        'an unknown element',
        { resourceType: 'Condition', subject: { reference: `Patient/${p}` }, colour: 'red' },
        'Condition.colour',
        'RECORDS.INVALID_RESOURCE',
      ],
      [
        'Patient',
        'a malformed birth date',
        { resourceType: 'Patient', birthDate: '29.02.1980' },
        'Patient.birthDate',
        'RECORDS.INVALID_RESOURCE',
      ],
      [
        'Consent',
        'a consent without category',
        { ...consent(p, permit(DR_A.sub)), category: [] },
        'Consent.category',
        'RECORDS.INVALID_RESOURCE',
      ],
      ['Condition', 'a body of another type', observation(p), 'resourceType', 'RECORDS.TYPE_MISMATCH'],
    ];
    for (const [type, _what, body, expression, code] of cases) {
      const response = await call(type === 'Consent' ? patient(p) : DR_A, 'POST', `/fhir/${type}`, body);
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/fhir+json');
      const outcome = (await response.json()) as {
        resourceType: string;
        issue: Array<{ expression?: string[]; details?: unknown }>;
      };
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(outcome.issue.flatMap((i) => i.expression ?? [])).toContain(expression);
      expect(outcome.issue[0]?.details).toMatchObject({ coding: [{ code }] });
    }
    const orphan = await call(DR_A, 'POST', '/fhir/Observation', observation('00000000-0000-4000-8000-000000000000'));
    expect(orphan.status).toBe(422);
    expect(await orphan.json()).toMatchObject({
      issue: [{ details: { coding: [{ code: 'RECORDS.UNKNOWN_PATIENT' }] } }],
    });
  });

  it('searches one record by code and date, returning only what the consent lets the caller see', async () => {
    const p = await newPatient();
    const heart = await newObservation(p, '8867-4', '2026-11-20T08:00:00Z');
    const earlier = await newObservation(p, '8867-4', '2025-03-01');
    await newObservation(p, '29463-7', '2026-11-21');
    const ids = async (as: As, query: string) => {
      const response = await call(as, 'GET', `/fhir/Observation?patient=Patient/${p}${query}`);
      expect(response.status).toBe(200);
      const bundle = (await response.json()) as { type: string; entry: Array<{ resource: { id: string } }> };
      expect(bundle.type).toBe('searchset');
      return bundle.entry.map((e) => e.resource.id).sort();
    };
    expect(await ids(patient(p), '&code=http://loinc.org|8867-4')).toEqual([heart, earlier].sort());
    expect(await ids(patient(p), '&code=8867-4&date=ge2026-01-01')).toEqual([heart]);
    expect(await ids(patient(p), '&date=2025')).toEqual([earlier]);
    expect(await ids(patient(p), '&code=http://snomed.info/sct|8867-4')).toEqual([]);
    expect((await call(DR_A, 'GET', `/fhir/Observation?patient=Patient/${p}`)).status).toBe(404);
    await writeConsent(
      p,
      permit(DR_A.sub, ['access'], { class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Observation' }] }),
    );
    expect(await ids(DR_A, '&code=8867-4')).toEqual([heart, earlier].sort());
    expect((await call(DR_A, 'GET', `/fhir/Condition?patient=Patient/${p}`)).status).toBe(404);
    const bad = await call(DR_A, 'GET', '/fhir/Observation?code=8867-4');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ expression: ['patient'] }] });
  });

  it('audits every access (N operations, N AuditEvents), anchors each, and gives the patient the accounting of disclosures', async () => {
    const p = await newPatient(); // 1: create (Dr A)
    const obs = await newObservation(p); // 2: create (patient)
    await writeConsent(p, permit(DR_A.sub)); // 3: create Consent (patient)
    expect((await read(DR_A)(p, obs)).status).toBe(200); // 4: read (Dr A, consent)
    expect((await read(DR_B)(p, obs)).status).toBe(404); // 5: denied read (Dr B), answered as unknown
    expect((await call(DR_A, 'GET', `/fhir/Observation?patient=${p}`)).status).toBe(200); // 6: search
    expect((await call(DR_A, 'GET', `/fhir/Observation/${obs}/_history`)).status).toBe(200); // 7: history
    const grant = await call(DR_B, 'POST', `/fhir/Patient/${p}/$break-glass`, { reason: 'anaphylaxis, unresponsive' }); // 8
    expect(grant.status).toBe(201);
    expect((await read(DR_B)(p, obs)).status).toBe(200); // 9: read (break-glass)
    const operations = 9;

    const bundle = await call(AUDITOR, 'GET', `/fhir/AuditEvent?patient=Patient/${p}`); // 10 (audited after it reads)
    expect(bundle.status).toBe(200);
    const events = ((await bundle.json()) as { entry: Array<{ resource: Record<string, unknown> }> }).entry.map(
      (e) => e.resource,
    );
    expect(events).toHaveLength(operations);
    expect(
      events.map((e) => [
        e['action'],
        e['outcome'],
        (e['agent'] as Array<{ who: { reference: string } }>)[0]?.who.reference,
      ]),
    ).toEqual([
      ['C', '0', DR_A.sub],
      ['C', '0', `Patient/${p}`],
      ['C', '0', `Patient/${p}`],
      ['R', '0', DR_A.sub],
      ['R', '4', DR_B.sub],
      ['E', '0', DR_A.sub],
      ['R', '0', DR_A.sub],
      ['E', '0', DR_B.sub],
      ['R', '0', DR_B.sub],
    ]);
    expect(events[8]).toMatchObject({ purposeOfEvent: [{ coding: [{ code: 'ETREAT' }] }] });

    // The patient is notified of the break-glass by a public event, which names both by pseudonyms (ADR 0013).
    const { eventId: grantEventId } = (await grant.json()) as { eventId: string };
    const notified = await eventually(async () =>
      recorder.messages
        .map(
          (m) =>
            jsonOf(m.message.value) as
              | { id?: string; type?: string; data?: { patient?: string; actor?: string } }
              | undefined,
        )
        .find((e) => e?.id === grantEventId),
    );
    expect(notified?.type).toBe('records.EmergencyAccessGranted');
    expect(notified?.data?.actor).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(JSON.stringify(notified)).not.toContain(DR_B.sub);
    expect(JSON.stringify(notified)).not.toContain(p);

    // Accounting of disclosures: everyone but the patient, each anchored in the ledger (the receipt verifies).
    const accounting = await eventually(
      async () => {
        const response = await call(patient(p), 'GET', `/fhir/Patient/${p}/$disclosures`);
        expect(response.status).toBe(200);
        const body = (await response.json()) as {
          disclosures: Array<{ actor: string; basis: string; outcome: string; eventId: string; receipt: unknown }>;
        };
        return body.disclosures.length >= 7 && body.disclosures.every((d) => d.receipt !== null) ? body : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(accounting.disclosures.map((d) => `${d.actor} ${d.basis} ${d.outcome}`)).toEqual([
      `${DR_A.sub} role 0`,
      `${DR_A.sub} consent 0`,
      `${DR_B.sub} consent-deny 4`,
      `${DR_A.sub} consent 0`,
      `${DR_A.sub} consent 0`,
      `${DR_B.sub} break-glass 0`, // the claim itself
      `${DR_B.sub} break-glass 0`,
      `${AUDITOR.sub} role 0`,
    ]);
    const receipt = await call(patient(p), 'GET', `/v1/events/${accounting.disclosures[2]?.eventId}/receipt`);
    expect(receipt.status).toBe(200);
    expect(await receipt.json()).toMatchObject({
      event: { type: 'records.AccessAudited' },
      verified: { inclusion: true },
    });
    expect((await call(DR_A, 'GET', `/fhir/Patient/${p}/$disclosures`)).status).toBe(404);

    // Every AuditEvent of the record is anchored, the patient's own accesses too: its public event has a receipt.
    const sql = records.app.get<Sql>(EVENT_STORE_SQL);
    const anchored = await eventually(
      async () => {
        const [row] = await sql.$queryRawUnsafe<Array<{ audits: number; sealed: number }>>(
          `SELECT count(*)::int AS audits, count(r.event_id)::int AS sealed
             FROM audit_log a LEFT JOIN es_receipt r ON r.event_id = a.event_id::text WHERE a.patient_id = $1::uuid`,
          p,
        );
        return row && row.audits === row.sealed ? row : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    // The nine operations, the auditor's read of them, the patient's accountings (polled) and the refused one.
    expect(anchored.audits).toBeGreaterThanOrEqual(operations + 3);
  });

  it("erases a patient: key destroyed, every version unreadable, the erasure anchored, the ledger's chain still verifies", async () => {
    const p = await newPatient();
    const obs = await newObservation(p);
    await writeConsent(p, permit(DR_A.sub));
    expect((await read(DR_A)(p, obs)).status).toBe(200);
    expect((await call(DR_A, 'POST', `/fhir/Patient/${p}/$erase`)).status).toBe(404);

    const erased = await call(patient(p), 'POST', `/fhir/Patient/${p}/$erase`);
    expect(erased.status).toBe(200);
    const { eventId } = (await erased.json()) as { eventId: string };

    const gone: Array<[As, string, string, unknown?]> = [
      [patient(p), 'GET', `/fhir/Patient/${p}`],
      [patient(p), 'GET', `/fhir/Patient/${p}/_history/1`],
      [patient(p), 'GET', `/fhir/Observation/${obs}`],
      [DR_A, 'GET', `/fhir/Observation/${obs}`],
      [patient(p), 'GET', `/fhir/Observation?patient=${p}`],
      [patient(p), 'POST', '/fhir/Observation', observation(p)],
      [DR_B, 'POST', `/fhir/Patient/${p}/$break-glass`, { reason: 'after the erasure' }],
      [patient(p), 'POST', `/fhir/Patient/${p}/$erase`],
    ];
    for (const [as, method, path, body] of gone) {
      const response = await call(as, method, path, body);
      expect({ path, method, status: response.status, body: await response.json() }).toMatchObject({
        status: 410,
        body: { code: 'RECORDS.PATIENT_ERASED' },
      });
    }
    const sql = records.app.get<Sql>(EVENT_STORE_SQL);
    expect(
      await sql.$queryRawUnsafe(
        'SELECT wrapped, destroyed_at IS NOT NULL AS destroyed FROM patient_key WHERE stream_id = $1',
        `Patient-${p}`,
      ),
    ).toEqual([{ wrapped: '', destroyed: true }]);

    // The projections rebuild from the events alone, the erased ones included (their ids are in clear metadata).
    expect((await call(DR_A, 'POST', '/v1/projections/resource-index/rebuild')).status).toBe(403);
    for (const projection of ['resource-index', 'audit-log', 'break-glass']) {
      const rebuilt = await call(ADMIN, 'POST', `/v1/projections/${projection}/rebuild`);
      expect({ projection, status: rebuilt.status }).toEqual({ projection, status: 201 });
    }
    const indexed = await sql.$queryRawUnsafe<unknown[]>('SELECT 1 FROM resource_index WHERE patient_id = $1::uuid', p);
    expect(indexed).toHaveLength(3);

    // The erasure itself is anchored, and the ledger's whole chain still verifies.
    const receipt = await eventually(
      async () => {
        const response = await call(DR_A, 'GET', `/v1/events/${eventId}/receipt`);
        return response.status === 200 ? ((await response.json()) as Record<string, unknown>) : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(receipt).toMatchObject({ event: { type: 'records.PatientErased' } });
    expect(JSON.stringify(receipt['event'])).not.toContain(p);
    const chain = await runVerifyCli('chain', '--url', ledger.baseUrl);
    expect({ code: chain.code, stderr: chain.stderr }).toEqual({ code: 0, stderr: chain.stderr });
    expect(chain.stdout).toMatch(/^OK chain/);
  }, 90_000);

  it('publishes no PHI on any public topic (every message the suite caused, read back from Kafka)', async () => {
    await eventually(async () => (recorder.messages.length > 100 ? true : undefined));
    expect(phi.size).toBeGreaterThan(50);
    const leaks: string[] = [];
    for (const { topic, message } of recorder.messages) {
      const text = message.value?.toString('utf8') ?? '';
      for (const value of phi) if (text.includes(value)) leaks.push(`${topic}: ${value}`);
    }
    expect(leaks).toEqual([]);
  });
});

import { randomBytes } from 'node:crypto';
import { EVENT_STORE_SQL, type TransactionalSql } from '@medledger/event-store';
import { ed25519PublicKeyFromSeed, verifierKey } from '@medledger/ledger-core';
import {
  eventually,
  jsonOf,
  recordTopics,
  runVerifyCli,
  startLedgerProcess,
  testAuth,
  uniqueSuffix,
  type LedgerProcess,
  type RunningService,
  type TopicRecorder,
} from '@medledger/testing';
import { PSEUDONYM_PATTERN } from '../src/resources/domain/pseudonym';
import { PatientKeyCodec, pseudonymKeyOwner } from '../src/resources/infra/patient-keys';
import { startRecords } from './records-service';

/**
 * Public events carry no stable id of a patient, an actor or a resource in clear (issue 16 item 12, ADR 0013): two
 * patients' records written through the FHIR API, every event read back from Kafka and from the ledger's sealed
 * leaves, then one patient erased: their pseudonym key is gone, nobody recomputes their pseudonyms, and the
 * receipts and the ledger's chain still verify.
 */
describe('records: pseudonymous public events', () => {
  const seed = randomBytes(32);
  const masterKey = randomBytes(32);
  const eventsTopic = `test.${uniqueSuffix()}.records.events`;
  const auth = testAuth('records');
  let ledger: LedgerProcess;
  let records: RunningService;
  let recorder: TopicRecorder;
  let sql: TransactionalSql;

  beforeAll(async () => {
    ledger = await startLedgerProcess({
      topics: [eventsTopic],
      producerKeys: [verifierKey('records', ed25519PublicKeyFromSeed(seed))],
      env: { LEDGER_BLOCK_MAX_AGE_MS: '50' },
    });
    records = await startRecords(auth, {
      EVENT_SIGNING_KEY: seed.toString('base64'),
      RECORDS_MASTER_KEY: masterKey.toString('base64'),
      PUBLIC_EVENTS_TOPIC: eventsTopic,
      LEDGER_URL: ledger.baseUrl,
      LEDGER_VERIFIER_KEYS: ledger.verifierKey,
      LEDGER_ORIGIN: ledger.origin,
    });
    recorder = await recordTopics([eventsTopic]);
    sql = records.app.get<TransactionalSql>(EVENT_STORE_SQL);
  }, 120_000);

  afterAll(async () => {
    await recorder?.stop();
    await records?.close();
    await ledger?.stop();
  });

  type As = { sub: string; role: Parameters<typeof auth.token>[1] };
  const suffix = uniqueSuffix();
  const DR: As = { sub: `Practitioner/dr-pseudo-${suffix}`, role: 'practitioner' };
  const AUDITOR: As = { sub: `Practitioner/auditor-${suffix}`, role: 'auditor' };
  const patient = (id: string): As => ({ sub: `Patient/${id}`, role: 'patient' });

  async function call(as: As, method: string, path: string, body?: unknown) {
    const token = await auth.token(as.sub, as.role);
    return fetch(records.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }
  async function ok(response: Response, status = 201): Promise<Record<string, unknown> & { id: string }> {
    const body = (await response.json()) as Record<string, unknown> & { id: string };
    if (response.status !== status)
      throw new Error(`expected ${status}, got ${response.status}: ${JSON.stringify(body)}`);
    return body;
  }
  const coding = (system: string, code: string) => ({ coding: [{ system, code }] });
  const observation = (patientId: string, value: number) => ({
    resourceType: 'Observation',
    status: 'final',
    code: coding('http://loinc.org', '8867-4'),
    subject: { reference: `Patient/${patientId}` },
    valueQuantity: { value, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  });

  /** A patient who lets DR read and correct their record, with one Observation of their own that DR reads. */
  async function record(): Promise<{ patientId: string; observationId: string }> {
    const patientId = (await ok(await call(DR, 'POST', '/fhir/Patient', { resourceType: 'Patient' }))).id;
    const me = patient(patientId);
    await ok(
      await call(me, 'POST', '/fhir/Consent', {
        resourceType: 'Consent',
        status: 'active',
        scope: coding('http://terminology.hl7.org/CodeSystem/consentscope', 'patient-privacy'),
        category: [coding('http://loinc.org', '59284-0')],
        patient: { reference: `Patient/${patientId}` },
        policyRule: coding('http://terminology.hl7.org/CodeSystem/v3-ActCode', 'OPTOUT'),
        provision: {
          actor: [
            {
              role: coding('http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'IRCP'),
              reference: { reference: DR.sub },
            },
          ],
          action: ['access'].map((code) => coding('http://terminology.hl7.org/CodeSystem/consentaction', code)),
        },
      }),
    );
    const observationId = (await ok(await call(me, 'POST', '/fhir/Observation', observation(patientId, 64)))).id;
    await ok(
      await call(me, 'PUT', `/fhir/Observation/${observationId}`, {
        ...observation(patientId, 66),
        id: observationId,
      }),
      200,
    );
    await ok(await call(DR, 'GET', `/fhir/Observation/${observationId}`), 200);
    await ok(await call(me, 'PUT', `/fhir/Patient/${patientId}`, { resourceType: 'Patient', id: patientId }), 200);
    return { patientId, observationId };
  }

  interface Published {
    id: string;
    type: string;
    subject?: string;
    aggregateid: string;
    data: Record<string, string>;
    key: string;
    bytes: string;
  }
  /** The public events of these event ids, as Kafka delivered them (value, key and headers as text). */
  async function published(eventIds: string[]): Promise<Published[]> {
    return eventually(async () => {
      const byId = new Map<string, Published>();
      for (const { message } of recorder.messages) {
        const event = jsonOf(message.value) as Omit<Published, 'key' | 'bytes'> | undefined;
        if (!event || !eventIds.includes(event.id)) continue;
        const headers = Object.entries(message.headers ?? {}).map(([name, value]) => `${name}=${String(value)}`);
        const key = message.key?.toString('utf8') ?? '';
        byId.set(event.id, { ...event, key, bytes: [message.value?.toString('utf8'), key, ...headers].join('\n') });
      }
      return byId.size === eventIds.length ? eventIds.map((id) => byId.get(id) as Published) : undefined;
    });
  }
  /** The ids of a patient's public events, from records' own tables (its streams keep ids in clear). */
  async function eventIdsOf(patientId: string): Promise<string[]> {
    const rows = await sql.$queryRawUnsafe<Array<{ event_id: string }>>(
      `SELECT o.event_id::text FROM es_outbox o JOIN es_event e ON e.event_id::text = o.event_id::text
        WHERE e.stream_id LIKE $1 OR e.stream_id LIKE $2 OR e.stream_id = $3 ORDER BY o.position`,
      `Patient-${patientId}%`,
      `Audit-${patientId}/%`,
      `Erasure-${patientId}`,
    );
    return rows.map((row) => row.event_id);
  }
  /** Every token of a pseudonym's form in an event. */
  const tokens = (event: Published) => new Set(event.bytes.match(/[A-Za-z0-9_-]{22}/g) ?? []);

  it('names no patient, practitioner or resource in any event; pseudonyms are per patient, stable within one record', async () => {
    const one = await record();
    const two = await record();
    const grant = await ok(
      await call(DR, 'POST', `/fhir/Patient/${two.patientId}/$break-glass`, { reason: 'unresponsive in A&E' }),
    );
    const events = {
      one: await published(await eventIdsOf(one.patientId)),
      two: await published(await eventIdsOf(two.patientId)),
    };
    // Registration, consent, creation, correction, DR's read and the patient's update, each audited.
    expect(events.one.map((e) => e.type).sort()).toEqual([
      ...Array<string>(6).fill('records.AccessAudited'),
      'records.PatientRegistered',
      'records.PatientUpdated',
      'records.ResourceCreated',
      'records.ResourceCreated',
      'records.ResourceUpdated',
    ]);
    expect(events.two.some((e) => e.id === grant['eventId'] && e.type === 'records.EmergencyAccessGranted')).toBe(true);

    const clear = [one.patientId, two.patientId, one.observationId, two.observationId, DR.sub, `dr-pseudo-${suffix}`];
    for (const event of [...events.one, ...events.two])
      for (const id of clear)
        expect({ event: event.type, leaks: event.bytes.includes(id) }).toEqual({ event: event.type, leaks: false });

    // One patient's events share their pseudonym (Kafka key, subject, data), each patient has their own.
    const patientOf = (event: Published) => event.data['patient'];
    for (const list of [events.one, events.two]) {
      const patients = new Set(list.flatMap((e) => [patientOf(e), e.key, e.subject]));
      expect(patients.size).toBe(1);
      expect([...patients][0]).toMatch(PSEUDONYM_PATTERN);
    }
    const [p1, p2] = [patientOf(events.one[0] as Published), patientOf(events.two[0] as Published)];
    expect(p1).not.toBe(p2);
    // The Patient resource is its patient: its audits name the aggregate its versions' events name.
    const patientAudits = events.one.filter(
      (e) => e.type === 'records.AccessAudited' && e.data['resourceType'] === 'Patient',
    );
    expect(patientAudits.map((e) => e.data['resource'])).toEqual([p1, p1]);
    expect(events.one.filter((e) => e.type.startsWith('records.Patient')).map((e) => e.aggregateid)).toEqual([p1, p1]);

    // DR has one pseudonym in each record, a different one in each; the resource one in all its events.
    const drIn = (list: Published[]) =>
      new Set(
        list
          .filter((e) => e.type === 'records.AccessAudited' && e.data['role'] === 'practitioner')
          .map((e) => e.data['actor']),
      );
    expect(drIn(events.one).size).toBe(1);
    expect(drIn(events.two).size).toBe(1);
    expect([...drIn(events.one)][0]).not.toEqual([...drIn(events.two)][0]);
    const observationEvents = events.one.filter((e) => e.data['resourceType'] === 'Observation');
    expect(observationEvents.map((e) => e.type).sort()).toEqual([
      'records.AccessAudited',
      'records.AccessAudited',
      'records.AccessAudited',
      'records.ResourceCreated',
      'records.ResourceUpdated',
    ]);
    expect(new Set(observationEvents.map((e) => e.data['resource'] ?? e.aggregateid)).size).toBe(1);
    expect(
      new Set(observationEvents.filter((e) => e.type !== 'records.AccessAudited').map((e) => e.aggregateid)),
    ).toEqual(
      new Set(observationEvents.filter((e) => e.type === 'records.AccessAudited').map((e) => e.data['resource'])),
    );

    // No value of one record's events appears in the other's: nothing links the two patients.
    const shared = [...new Set(events.one.flatMap((e) => [...tokens(e)]))].filter((t) =>
      events.two.some((e) => tokens(e).has(t)),
    );
    expect(shared).toEqual([]);

    // The ledger sealed exactly these bytes: its leaves name nobody either.
    for (const event of [...events.one, ...events.two]) {
      const leaf = await eventually(
        async () => {
          const response = await fetch(`${ledger.baseUrl}/v1/events/${event.id}`);
          return response.status === 200 ? ((await response.json()) as { leafData: string }) : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      const text = Buffer.from(leaf.leafData, 'base64').toString('utf8');
      expect(text).toContain(event.id);
      for (const id of clear) expect(text.includes(id)).toBe(false);
    }
  }, 90_000);

  it("after an erasure nobody can compute the patient's pseudonyms, and the receipts and chain still verify", async () => {
    const { patientId } = await record();
    const before = await published(await eventIdsOf(patientId));
    const pseudonym = before[0]?.data['patient'] as string;
    // The service computes the pseudonym its events carry, and so would a fresh instance with the master key.
    const fresh = () => new PatientKeyCodec(masterKey);
    expect((await records.app.get(PatientKeyCodec).pseudonymsNow(sql, patientId)).patient).toBe(pseudonym);
    expect((await fresh().pseudonymsNow(sql, patientId)).patient).toBe(pseudonym);

    const erased = await ok(await call(patient(patientId), 'POST', `/fhir/Patient/${patientId}/$erase`), 200);
    const [erasure] = await published([erased['eventId'] as string]);
    expect(erasure).toMatchObject({ type: 'records.PatientErased', key: pseudonym, data: { patient: pseudonym } });
    expect(erasure?.data['requestedBy']).toMatch(PSEUDONYM_PATTERN);
    expect(erasure?.bytes).not.toContain(patientId);

    // Both keys destroyed in the erasure's transaction: the pseudonym key's row holds nothing.
    const keys = await sql.$queryRawUnsafe<Array<{ stream_id: string; wrapped: string; destroyed: boolean }>>(
      'SELECT stream_id, wrapped, destroyed_at IS NOT NULL AS destroyed FROM patient_key WHERE stream_id = ANY($1::text[]) ORDER BY stream_id',
      [`Patient-${patientId}`, pseudonymKeyOwner(patientId)],
    );
    expect(keys).toEqual([
      { stream_id: `Patient-${patientId}`, wrapped: '', destroyed: true },
      { stream_id: pseudonymKeyOwner(patientId), wrapped: '', destroyed: true },
    ]);
    // Neither this instance nor a fresh one with the master key and the database computes it again.
    for (const codec of [records.app.get(PatientKeyCodec), fresh()]) {
      const again = await codec.pseudonymsNow(sql, patientId);
      expect(again.patient).toMatch(PSEUDONYM_PATTERN);
      expect(again.patient).not.toBe(pseudonym);
      expect(again.actor(DR.sub)).not.toBe(before.find((e) => e.data['role'] === 'practitioner')?.data['actor']);
    }

    // The accounting still answers; its own audit event links to nothing of the erased record.
    const accounting = await call(AUDITOR, 'GET', `/fhir/Patient/${patientId}/$disclosures`);
    expect(accounting.status).toBe(200);
    const audits = await eventIdsOf(patientId);
    const last = (await published(audits)).at(-1) as Published;
    expect(last).toMatchObject({ type: 'records.AccessAudited', data: { interaction: 'disclosures' } });
    expect(last.data['patient']).not.toBe(pseudonym);
    expect(last.key).not.toBe(pseudonym);

    // What was sealed still proves: every receipt of the record verifies, and so does the ledger's chain.
    for (const event of [...before, erasure as Published]) {
      const receipt = await eventually(
        async () => {
          const response = await call(DR, 'GET', `/v1/events/${event.id}/receipt`);
          return response.status === 200 ? ((await response.json()) as Record<string, unknown>) : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      expect(receipt).toMatchObject({
        event: { id: event.id, type: event.type },
        verified: { checkpointSignature: true, blockSignature: true, leafMatchesEvent: true, inclusion: true },
      });
    }
    const chain = await runVerifyCli('chain', '--url', ledger.baseUrl);
    expect({ code: chain.code, stderr: chain.stderr }).toEqual({ code: 0, stderr: chain.stderr });
    expect(chain.stdout).toMatch(/^OK chain/);
  }, 120_000);
});

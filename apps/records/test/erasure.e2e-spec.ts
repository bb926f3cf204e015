import { EVENT_STORE_SQL, type Sql } from '@medledger/event-store';
import { testAuth, type RunningService } from '@medledger/testing';
import { startRecords } from './records-service';

/**
 * Who may erase a record (issue 16, item 6): the patient at once, unless a clinician's entries are in it (retained:
 * HIPAA §164.526 amendment, not deletion); an org admin only for a patient their organization manages, and only
 * with a second admin's approval, each with a reason.
 */
describe('records: erasure, retention and four eyes', () => {
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
  const DR: As = { sub: 'Practitioner/dr-erasure', role: 'practitioner' };
  const ADMIN_1: As = { sub: 'Practitioner/admin-1', role: 'org-admin', org: ORG };
  const ADMIN_2: As = { sub: 'Practitioner/admin-2', role: 'org-admin', org: ORG };
  const OTHER_ADMIN: As = { sub: 'Practitioner/admin-x', role: 'org-admin', org: 'Organization/elsewhere' };
  const patient = (id: string): As => ({ sub: `Patient/${id}`, role: 'patient' });
  const REASON = { reason: 'court order 2026/118: erase the whole record' };

  async function call(as: As, method: string, path: string, body?: unknown) {
    const token = await auth.token(as.sub, as.role, as.org ? { org: as.org } : {});
    return fetch(records.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }
  async function answer(response: Response) {
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }
  async function newPatient(managingOrganization?: string): Promise<string> {
    const response = await call(DR, 'POST', '/fhir/Patient', {
      resourceType: 'Patient',
      birthDate: '1961-07-04',
      ...(managingOrganization && { managingOrganization: { reference: managingOrganization } }),
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { id: string }).id;
  }
  const observation = (patientId: string) => ({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: `Patient/${patientId}` },
    valueQuantity: { value: 64, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  });
  /** The patient lets DR read and write in their record: OPTOUT, with DR as the exception (R4; ADR 0007). */
  async function consentToWrite(patientId: string): Promise<void> {
    const coding = (system: string, code: string) => ({ coding: [{ system, code }] });
    const response = await call(patient(patientId), 'POST', '/fhir/Consent', {
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
        action: ['access', 'correct'].map((code) =>
          coding('http://terminology.hl7.org/CodeSystem/consentaction', code),
        ),
      },
    });
    expect(response.status).toBe(201);
  }

  it('lets a patient erase a record of their own entries at once', async () => {
    const id = await newPatient(ORG);
    expect((await call(patient(id), 'POST', '/fhir/Observation', observation(id))).status).toBe(201);
    await consentToWrite(id);
    const erased = await answer(await call(patient(id), 'POST', `/fhir/Patient/${id}/$erase`));
    expect(erased).toMatchObject({ status: 200, body: { patientId: id, status: 'erased' } });
    expect((await call(patient(id), 'GET', `/fhir/Patient/${id}`)).status).toBe(410);
  });

  it("retains a clinician's entries against the patient's erasure; two admins of the organization erase the record", async () => {
    const id = await newPatient(ORG);
    await consentToWrite(id);
    const written = await call(DR, 'POST', '/fhir/Observation', observation(id));
    expect(written.status).toBe(201);
    const observationId = ((await written.json()) as { id: string }).id;

    const refused = await answer(await call(patient(id), 'POST', `/fhir/Patient/${id}/$erase`));
    expect(refused).toMatchObject({ status: 409, body: { code: 'RECORDS.RETENTION_REQUIRED' } });
    expect(refused.body['detail']).toMatch(/1 clinical entry/);
    expect((await call(patient(id), 'GET', `/fhir/Observation/${observationId}`)).status).toBe(200);

    // Not an admin of the managing organization; no reason; then the first admin's request.
    // An admin of another organization learns no more than of an unknown patient.
    expect(await answer(await call(OTHER_ADMIN, 'POST', `/fhir/Patient/${id}/$erase`, REASON))).toMatchObject({
      status: 404,
      body: { code: 'RECORDS.RESOURCE_NOT_FOUND' },
    });
    expect(await answer(await call(ADMIN_1, 'POST', `/fhir/Patient/${id}/$erase`, {}))).toMatchObject({
      status: 400,
      body: { code: 'RECORDS.INVALID_ERASURE' },
    });
    const asked = await answer(await call(ADMIN_1, 'POST', `/fhir/Patient/${id}/$erase`, REASON));
    expect(asked).toMatchObject({
      status: 202,
      body: { status: 'awaiting-second-approval', requestedBy: ADMIN_1.sub },
    });
    expect(Date.parse(asked.body['expiresAt'] as string)).toBeGreaterThan(Date.now());
    expect((await call(patient(id), 'GET', `/fhir/Observation/${observationId}`)).status).toBe(200);
    expect(await answer(await call(ADMIN_1, 'POST', `/fhir/Patient/${id}/$erase`, REASON))).toMatchObject({
      status: 409,
      body: { code: 'RECORDS.SECOND_APPROVAL_REQUIRED' },
    });

    const approved = await answer(
      await call(ADMIN_2, 'POST', `/fhir/Patient/${id}/$erase`, { reason: 'approved after review of the order' }),
    );
    expect(approved).toMatchObject({ status: 200, body: { status: 'erased' } });
    expect((await call(patient(id), 'GET', `/fhir/Observation/${observationId}`)).status).toBe(410);

    // Both steps are kept in clear, with who asked, who approved and why; the public event names neither.
    const sql = records.app.get<Sql>(EVENT_STORE_SQL);
    // Stored as the codec writes clear streams: { alg: 'none', data }.
    const steps = await sql.$queryRawUnsafe<Array<{ type: string; data: { alg: string; data: unknown } }>>(
      'SELECT type, data FROM es_event WHERE stream_id = $1 ORDER BY version',
      `Erasure-${id}`,
    );
    expect(steps.map((step) => step.type)).toEqual(['ErasureRequested', 'PatientErased']);
    expect(steps.map((step) => step.data.alg)).toEqual(['none', 'none']);
    expect(steps[0]?.data.data).toMatchObject({ requestedBy: ADMIN_1.sub, organization: ORG, reason: REASON.reason });
    expect(steps[1]?.data.data).toMatchObject({
      requestedBy: ADMIN_1.sub,
      approvedBy: ADMIN_2.sub,
      reason: REASON.reason,
    });
    const [published] = await sql.$queryRawUnsafe<Array<{ envelope: { type: string; data: Record<string, unknown> } }>>(
      'SELECT envelope FROM es_outbox WHERE event_id = $1',
      approved.body['eventId'],
    );
    expect(published?.envelope.type).toBe('records.PatientErased');
    expect(Object.keys(published?.envelope.data ?? {}).sort()).toEqual(['erasedAt', 'patient', 'requestedBy']);
    // By pseudonyms only (ADR 0013): neither the patient's id nor the requesting admin's reference.
    expect(published?.envelope.data['requestedBy']).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(JSON.stringify(published?.envelope)).not.toContain(id);
    expect(JSON.stringify(published?.envelope)).not.toContain('admin-1');
  });

  it('lets no admin erase a patient no organization manages', async () => {
    const id = await newPatient();
    const refused = await answer(await call(ADMIN_1, 'POST', `/fhir/Patient/${id}/$erase`, REASON));
    expect(refused).toMatchObject({ status: 404, body: { code: 'RECORDS.RESOURCE_NOT_FOUND' } });
  });
});

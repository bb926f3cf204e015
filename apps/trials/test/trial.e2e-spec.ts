import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  eventually,
  runVerifyCli,
  startSealedService,
  testAuth,
  uniqueSuffix,
  type LedgerProcess,
  type SealedService,
  type RunningService,
} from '@medledger/testing';
import { TrialsModule } from '../src/app.module';

const hex = () => randomBytes(32).toString('hex');

/**
 * A trial through the trials API with the real ledger on real Kafka and PostgreSQL: registration, enrolment refused
 * until the activation is sealed, consent, committed randomisation, visits paid by the contract, an amendment that
 * requires re-consent, a withdrawal pro rata, an unregistered outcome flagged, and a statement re-executed by
 * medledger-verify.
 */
describe('trials: a trial end to end', () => {
  const auth = testAuth('trials');
  let ledger: LedgerProcess;
  let trials: RunningService;
  let sealed: SealedService;

  beforeAll(async () => {
    // The ledger seals slowly enough that a request right after activation finds it unsealed (TRIALS.NOT_ANCHORED).
    sealed = await startSealedService(
      'trials',
      (config, env) => TrialsModule.forRoot(config, { ...env, ...auth.env }),
      { ledgerEnv: { LEDGER_BLOCK_MAX_AGE_MS: '1500' } },
    );
    ({ ledger, service: trials } = sealed);
  }, 120_000);

  afterAll(async () => {
    await sealed?.stop();
  });

  type As = { sub: string; role: 'sponsor' | 'investigator' | 'participant' | 'monitor'; org?: string };
  const SPONSOR: As = { sub: 'Organization/acme-pharma', role: 'sponsor', org: 'Organization/acme-pharma' };
  const OTHER_SPONSOR: As = { sub: 'Organization/rival', role: 'sponsor', org: 'Organization/rival' };
  const SITE_A: As = { sub: 'Practitioner/inv-a', role: 'investigator', org: 'Organization/site-a' };
  const SITE_B: As = { sub: 'Practitioner/inv-b', role: 'investigator', org: 'Organization/site-b' };
  const MONITOR: As = { sub: 'Organization/irb', role: 'monitor' };
  const participant = (id: string): As => ({ sub: `Patient/${id}`, role: 'participant' });

  async function call(as: As, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const token = await auth.token(as.sub, as.role, as.org ? { org: as.org } : {});
    const response = await fetch(trials.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = { text };
    }
    return { status: response.status, body: json, headers: response.headers };
  }
  async function ok(as: As, method: string, path: string, body?: unknown, headers?: Record<string, string>) {
    const result = await call(as, method, path, body, headers);
    if (result.status >= 300) throw new Error(`${method} ${path}: ${result.status} ${JSON.stringify(result.body)}`);
    return result.body;
  }

  const outcomes = [
    { outcomeId: 'hba1c', kind: 'primary', title: 'Change in HbA1c', measure: 'HbA1c %', timeFrame: 'Week 24' },
    { outcomeId: 'weight', kind: 'secondary', title: 'Change in weight', measure: 'kg', timeFrame: 'Week 24' },
  ];
  const registration = {
    protocolId: `MDL-${uniqueSuffix()}`,
    briefTitle: 'Drug X in type 2 diabetes',
    officialTitle: 'A randomised, double-blind, placebo-controlled trial of drug X in type 2 diabetes',
    acronym: 'DX-T2D',
    conditions: ['Type 2 diabetes'],
    phase: 'phase-3',
    design: { allocation: 'randomized', masking: 'double' },
    arms: [
      {
        armId: 'active',
        label: 'Drug X',
        type: 'experimental',
        interventions: [{ type: 'drug', label: 'Drug X 10 mg' }],
      },
      { armId: 'placebo', label: 'Placebo', type: 'placebo-comparator' },
    ],
    eligibility: { criteria: 'Adults 18-75 with T2D, HbA1c 7-10 %' },
    targetEnrolment: 200,
    sponsor: 'ACME Pharma',
    sites: [
      { site: 'Organization/site-a', label: 'Site A' },
      { site: 'Organization/site-b', label: 'Site B' },
    ],
    outcomes,
    protocolDocumentSha256: hex(),
    analysisPlanSha256: hex(),
  };
  const schedule = {
    scheduleId: 'dx-pay',
    version: 1,
    currency: 'EUR',
    visits: [
      { visitId: 'V1', amount: 5000 },
      { visitId: 'V2', amount: 5000 },
      { visitId: 'V3', amount: 5000 },
      { visitId: 'V4', amount: 5000 },
    ],
    completionBonus: { amount: 4000, maxShare: 0.2 },
    reimbursement: { categories: ['travel'], perVisitLimit: 2000 },
  };

  /** The trial the first test runs, kept for the audit-trail test after it. */
  let trialId = '';

  it('runs a trial, refuses what it must, pays by the contract and proves it', async () => {
    // Bad input: problem+json with stable codes, never a 5xx.
    const bad = await call(SPONSOR, 'POST', '/v1/trials', { ...registration, phase: 'phase-9' });
    expect(bad.status).toBe(400);
    expect(bad.body['code']).toBe('TRIALS.INVALID_REQUEST');
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect((await call(SITE_A, 'POST', '/v1/trials', registration)).body['code']).toBe('AUTH.FORBIDDEN_ROLE');

    const registered = await call(SPONSOR, 'POST', '/v1/trials', registration, { 'idempotency-key': 'register-0001' });
    expect(registered.status).toBe(201);
    trialId = registered.body['trialId'] as string;
    // The same key answers the same trial; another body under it is refused.
    const again = await call(SPONSOR, 'POST', '/v1/trials', registration, { 'idempotency-key': 'register-0001' });
    expect(again.body['trialId']).toBe(trialId);
    const reused = await call(
      SPONSOR,
      'POST',
      '/v1/trials',
      { ...registration, acronym: 'X' },
      { 'idempotency-key': 'register-0001' },
    );
    expect([reused.status, reused.body['code']]).toEqual([422, 'TRIALS.IDEMPOTENCY_KEY_REUSED']);
    expect((await call(SPONSOR, 'GET', `/v1/trials/${randomUUIDLike()}`)).body['code']).toBe('TRIALS.TRIAL_NOT_FOUND');

    // Activation: stale If-Match refused; then anchored. Screening before the seal: TRIALS.NOT_ANCHORED.
    expect(
      (await call(SPONSOR, 'POST', `/v1/trials/${trialId}/activate`, undefined, { 'if-match': 'W/"7"' })).body['code'],
    ).toBe('TRIALS.VERSION_MISMATCH');
    expect((await call(OTHER_SPONSOR, 'POST', `/v1/trials/${trialId}/activate`)).body['code']).toBe('TRIALS.FORBIDDEN');
    await ok(SPONSOR, 'POST', `/v1/trials/${trialId}/activate`, undefined, { 'if-match': 'W/"1"' });
    const screen = (id: string, as: As = SITE_A, site = 'Organization/site-a') =>
      call(as, 'POST', `/v1/trials/${trialId}/participants`, {
        participantId: id,
        site,
        eligible: true,
        criteria: { hba1c: 8.1 },
      });
    const early = await screen('P-001');
    expect([early.status, early.body['code']]).toEqual([409, 'TRIALS.NOT_ANCHORED']);

    await ok(SPONSOR, 'POST', `/v1/trials/${trialId}/consent-forms`, { documentSha256: hex(), schedule });
    await ok(SPONSOR, 'POST', `/v1/trials/${trialId}/randomisation`, {
      scheme: {
        algorithm: 'permuted-blocks-v1',
        arms: [
          { armId: 'active', ratio: 1 },
          { armId: 'placebo', ratio: 1 },
        ],
        blockSizes: [4],
        listLength: 40,
      },
    });
    await eventually(async () => ((await screen('P-001')).status === 201 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    expect((await screen('P-002', SITE_B, 'Organization/site-b')).status).toBe(201);
    expect((await screen('P-009', SITE_A, 'Organization/site-b')).body['code']).toBe('TRIALS.FORBIDDEN');

    // Consent (FHIR Consent, scope research), enrolment, randomisation (after the commitment is sealed).
    const base = `/v1/trials/${trialId}/participants`;
    expect(
      (await call(SITE_A, 'POST', `${base}/P-001/visits`, { visitId: 'V1', outcome: 'completed', date: '2026-12-03' }))
        .body['code'],
    ).toBe('TRIALS.WRONG_STATUS');
    for (const [id, site] of [
      ['P-001', SITE_A],
      ['P-002', SITE_B],
    ] as const) {
      await ok(participant(id), 'POST', `${base}/${id}/consents`, { formVersion: 1 });
      await ok(site, 'POST', `${base}/${id}/enrol`, {});
      await eventually(
        async () => ((await call(site, 'POST', `${base}/${id}/randomise`, {})).status === 201 ? true : undefined),
        {
          timeoutMs: 30_000,
          intervalMs: 250,
        },
      );
    }
    expect((await call(participant('P-002'), 'POST', `${base}/P-001/withdraw`, {})).body['code']).toBe(
      'TRIALS.FORBIDDEN',
    );

    // Visits are paid by the contract; a repeat under the same key is the same answer.
    const v1 = { visitId: 'V1', outcome: 'completed', date: '2026-12-09' };
    const first = await ok(SITE_A, 'POST', `${base}/P-001/visits`, v1, { 'idempotency-key': 'visit-p1-v1' });
    expect(await ok(SITE_A, 'POST', `${base}/P-001/visits`, v1, { 'idempotency-key': 'visit-p1-v1' })).toEqual(first);
    expect((first['events'] as Array<{ type: string }>).map((e) => e.type)).toEqual([
      'VisitRecorded',
      'PaymentAccrued',
      'PaymentDue',
    ]);
    expect((await call(SITE_A, 'POST', `${base}/P-001/visits`, v1)).body['code']).toBe('TRIALS.VISIT_ALREADY_RECORDED');
    expect((await call(SITE_A, 'POST', `${base}/P-001/visits`, { ...v1, visitId: 'V9' })).body['code']).toBe(
      'TRIALS.UNKNOWN_VISIT',
    );
    await ok(SITE_B, 'POST', `${base}/P-002/visits`, v1);
    await ok(participant('P-002'), 'POST', `${base}/P-002/expenses`, {
      visitId: 'V1',
      category: 'travel',
      amount: 2500,
    });

    // An amendment after the first enrolment that changes the primary outcome and requires re-consent.
    const amended = [
      { ...outcomes[0], kind: 'secondary' },
      outcomes[1],
      { outcomeId: 'fpg', kind: 'primary', title: 'Fasting glucose', measure: 'mmol/L', timeFrame: 'Week 24' },
    ];
    await ok(SPONSOR, 'POST', `/v1/trials/${trialId}/amendments`, {
      protocolDocumentSha256: hex(),
      analysisPlanSha256: registration.analysisPlanSha256,
      outcomes: amended,
      reconsentRequired: true,
    });
    const blocked = await call(SITE_A, 'POST', `${base}/P-001/visits`, {
      visitId: 'V2',
      outcome: 'completed',
      date: '2026-12-16',
    });
    expect([blocked.status, blocked.body['code']]).toEqual([409, 'TRIALS.RECONSENT_REQUIRED']);
    expect((await call(SPONSOR, 'PUT', `/v1/trials/${trialId}/consent-forms/1/schedule`, schedule)).body['code']).toBe(
      'TRIALS.SCHEDULE_LOCKED',
    );
    await ok(SPONSOR, 'POST', `/v1/trials/${trialId}/consent-forms`, {
      documentSha256: hex(),
      protocolVersion: 2,
      schedule: {
        ...schedule,
        version: 2,
        visits: schedule.visits.map((v) => ({ ...v, amount: 100 })),
        completionBonus: { amount: 100, maxShare: 0.2 },
      },
    });
    await ok(participant('P-001'), 'POST', `${base}/P-001/consents`, { formVersion: 2 });
    for (const visitId of ['V2', 'V3', 'V4'])
      await ok(SITE_A, 'POST', `${base}/P-001/visits`, { visitId, outcome: 'completed', date: '2026-12-20' });
    await ok(SITE_A, 'POST', `${base}/P-001/results`, {
      outcomeId: 'fpg',
      value: 6.1,
      unit: 'mmol/L',
      assessedOn: '2026-12-20',
    });
    await ok(SITE_A, 'POST', `${base}/P-001/complete`, {});
    await ok(SITE_B, 'POST', `${base}/P-002/results`, {
      outcomeId: 'quality-of-life',
      value: 'improved',
      assessedOn: '2026-12-21',
    });
    await ok(SITE_B, 'POST', `${base}/P-002/adverse-events`, {
      term: 'Headache',
      onset: '2026-12-10',
      seriousness: 'non-serious',
      expectedness: 'expected',
      relatedness: 'possibly-related',
    });
    await ok(participant('P-002'), 'POST', `${base}/P-002/withdraw`, { reason: 'moving away' });

    // P-001 stays on the schedule they first consented to (the amendment's schedule pays 1 per visit).
    const p1 = await ok(SPONSOR, 'GET', `${base}/P-001/statement`);
    expect((p1['evaluation'] as { totals: unknown }).totals).toEqual({ payment: 4 * 5000 + 4000, reimbursement: 0 });
    const p2Now = await ok(MONITOR, 'GET', `${base}/P-002`);
    expect(p2Now['researchSubjectStatus']).toBe('withdrawn');

    // The outcome report: the unregistered outcome flagged, the primary change after the first enrolment, receipts.
    const report = await eventually(
      async () => {
        const body = await ok(MONITOR, 'GET', `/v1/trials/${trialId}/outcome-report`);
        const lines = [...(body['registered'] as Array<{ registration: { sealed: boolean } }>)];
        return lines.every((line) => line.registration.sealed) && (body['unregistered'] as unknown[]).length === 1
          ? body
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(report['unregistered']).toEqual([expect.objectContaining({ outcomeId: 'quality-of-life' })]);
    expect(report['primaryChanges']).toEqual([
      expect.objectContaining({ fromVersion: 1, toVersion: 2, afterFirstEnrolment: true }),
    ]);
    expect(
      (report['registered'] as Array<{ outcomeId: string; reported: boolean }>).map((l) => [l.outcomeId, l.reported]),
    ).toEqual([
      ['hba1c', false],
      ['weight', false],
      ['fpg', true],
    ]);
    const html = await fetch(`${trials.baseUrl}/v1/trials/${trialId}/outcome-report`, {
      headers: { accept: 'text/html', authorization: `Bearer ${await auth.token(MONITOR.sub, MONITOR.role)}` },
    });
    expect(await html.text()).toContain('quality-of-life');

    // The statement of the withdrawn participant, every event sealed, re-executed by medledger-verify.
    const statement = await eventually(
      async () => {
        const body = await ok(participant('P-002'), 'GET', `${base}/P-002/statement`);
        return (body['events'] as Array<{ receipt?: unknown }>).every((e) => e.receipt) ? body : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    // P-002: V1 (5,000), the pro-rata bonus (4,000 × 1 of 4 visits) and the travel expense up to the limit.
    expect((statement['evaluation'] as { totals: unknown }).totals).toEqual({
      payment: 5000 + 1000,
      reimbursement: 2000,
    });
    expect((await call(participant('P-001'), 'GET', `${base}/P-002/statement`)).status).toBe(403);

    const dir = mkdtempSync(join(tmpdir(), 'statement-'));
    const keyring = join(dir, 'ledger.keys');
    writeFileSync(keyring, `${ledger.verifierKey}\n`);
    const file = join(dir, 'statement.json');
    writeFileSync(file, JSON.stringify(statement));
    const verified = await runVerifyCli('statement', file, '--keyring', keyring);
    expect([verified.code, verified.stdout]).toEqual([0, expect.stringContaining('OK statement')]);

    // Tampering: an amount the contract does not compute, a record that does not open its commitment.
    type Sealed = {
      envelope: { type: string; data: Record<string, unknown> };
      clear?: { record: Record<string, unknown> };
    };
    const tampered: Record<string, unknown> = structuredClone(statement);
    const tamperedEvents = tampered['events'] as Sealed[];
    const accrual = tamperedEvents.find(
      (e) => e.envelope.type === 'trials.PaymentAccrued' && e.envelope.data['lineId'] === 'bonus',
    ) as Sealed;
    accrual.envelope.data['amount'] = 4000;
    const visit = tamperedEvents.find((e) => e.envelope.type === 'trials.VisitRecorded') as Sealed;
    (visit.clear as { record: Record<string, unknown> }).record['outcome'] = 'missed';
    writeFileSync(file, JSON.stringify(tampered));
    const refused = await runVerifyCli('statement', file, '--keyring', keyring);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('bonus: accrued 4000');
    expect(refused.stdout).toContain('STATEMENT.COMMITMENT_MISMATCH');
    expect(refused.stdout).toContain('RECEIPT.LEAF_MISMATCH');

    // The sponsor pays what fell due, exactly once; a site may not.
    const due = (statement['events'] as Array<{ envelope: { type: string; data: Record<string, unknown> } }>).find(
      (e) => e.envelope.type === 'trials.PaymentDue',
    );
    const dueId = String(due?.envelope.data['dueId']);
    const pay = (as: As) => call(as, 'POST', `${base}/P-002/payments/${dueId}/issue`, { reference: 'SEPA-0001' });
    expect((await pay(SITE_B)).body['code']).toBe('AUTH.FORBIDDEN_ROLE');
    expect((await pay(SPONSOR)).status).toBe(201);
    expect((await pay(SPONSOR)).body['code']).toBe('TRIALS.ALREADY_PAID');
    expect((await call(SPONSOR, 'POST', `${base}/P-002/payments/due:99/issue`, { reference: 'x' })).body['code']).toBe(
      'TRIALS.UNKNOWN_PAYMENT',
    );
    // Malformed bodies are 400 with their issues, never a 5xx.
    const malformed = await call(SITE_A, 'POST', `${base}/P-001/visits`, { visitId: 'V2', outcome: 'maybe' });
    expect([malformed.status, malformed.body['code']]).toEqual([400, 'TRIALS.INVALID_REQUEST']);
    expect((await call(SITE_A, 'POST', `${base}/P-001/dance`, {})).status).toBe(404);

    // Fairness: same schedule, same visits, same pay; no unexplained difference.
    const fairness = await ok(MONITOR, 'GET', `/v1/trials/${trialId}/fairness-report`);
    expect(fairness['fair']).toBe(true);

    // Unblinding: the seed is revealed and every allocation made checks against the commitment.
    const proof = await ok(MONITOR, 'GET', `${base}/P-001/allocation`);
    const allocation = proof['proof'] as { sequence: number; armId: string };
    expect(allocation.sequence).toBeGreaterThan(0);
    expect(['active', 'placebo']).toContain(allocation.armId);
    await ok(SPONSOR, 'POST', `/v1/trials/${trialId}/unblind`);
  }, 240_000);

  it('keeps an audit trail of who did what and when, in recorded order, with receipts (21 CFR 11.10(e))', async () => {
    expect(trialId).not.toBe('');
    type Entry = {
      eventId: string;
      participantId: string | null;
      version: number;
      type: string;
      recordedAt: string;
      operator: { actor: string; role: string; org?: string } | null;
      sealed: { leafIndex: number } | null;
    };
    const trail = await ok(MONITOR, 'GET', `/v1/trials/${trialId}/audit-trail?_count=1000`);
    const entries = trail['entries'] as Entry[];
    expect(trail['total']).toBe(entries.length);
    const first = (type: string, participantId: string | null = null) =>
      entries.find((entry) => entry.type === type && entry.participantId === participantId);
    // Who: the sponsor registered and activated, the site recorded the visit, the participant consented.
    expect(first('TrialRegistered')?.operator).toEqual({
      actor: 'Organization/acme-pharma',
      role: 'sponsor',
      org: 'Organization/acme-pharma',
    });
    expect(first('TrialActivated')?.operator?.actor).toBe('Organization/acme-pharma');
    expect(first('VisitRecorded', 'P-001')?.operator).toEqual({
      actor: 'Practitioner/inv-a',
      role: 'investigator',
      org: 'Organization/site-a',
    });
    expect(first('ConsentGiven', 'P-002')?.operator).toEqual({ actor: 'Patient/P-002', role: 'participant' });
    expect(entries.every((entry) => entry.operator !== null)).toBe(true);
    // When, in order: recorded times never go back, each stream's versions count up from 1.
    const times = entries.map((entry) => Date.parse(entry.recordedAt));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const trialVersions = entries.filter((entry) => entry.participantId === null).map((entry) => entry.version);
    expect(trialVersions).toEqual(trialVersions.map((_, i) => i + 1));
    // Sealed: the activation's public event has its receipt.
    await eventually(async () => {
      const again = (await ok(MONITOR, 'GET', `/v1/trials/${trialId}/audit-trail?_count=1000`))['entries'] as Entry[];
      return again.find((entry) => entry.type === 'TrialActivated')?.sealed ?? undefined;
    });

    // Paged: two pages of 5 are the first 10 entries, with a next link.
    const page1 = await ok(MONITOR, 'GET', `/v1/trials/${trialId}/audit-trail?_count=5`);
    expect(page1['next']).toBe(`/v1/trials/${trialId}/audit-trail?_offset=5&_count=5`);
    const page2 = await ok(MONITOR, 'GET', page1['next'] as string);
    expect([...(page1['entries'] as Entry[]), ...(page2['entries'] as Entry[])].map((e) => e.eventId)).toEqual(
      entries.slice(0, 10).map((e) => e.eventId),
    );
    // Who may read it: the trial's sponsor and monitors; not another sponsor, a site or a participant.
    expect((await call(SPONSOR, 'GET', `/v1/trials/${trialId}/audit-trail`)).status).toBe(200);
    expect((await call(OTHER_SPONSOR, 'GET', `/v1/trials/${trialId}/audit-trail`)).body['code']).toBe(
      'TRIALS.FORBIDDEN',
    );
    expect((await call(SITE_A, 'GET', `/v1/trials/${trialId}/audit-trail`)).body['code']).toBe('AUTH.FORBIDDEN_ROLE');
    expect((await call(participant('P-001'), 'GET', `/v1/trials/${trialId}/audit-trail`)).status).toBe(403);
    const badPage = await call(MONITOR, 'GET', `/v1/trials/${trialId}/audit-trail?_count=0`);
    expect([badPage.status, badPage.body['code']]).toEqual([400, 'TRIALS.INVALID_REQUEST']);
  }, 60_000);
});

function randomUUIDLike(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

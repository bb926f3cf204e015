/**
 * The demo's trial (issue 13): a sponsor registers and activates a trial, enrolment waits for the ledger's seal, two
 * participants consent and are randomised, an amendment requires re-consent, one participant withdraws and is paid
 * pro rata, an unregistered outcome is flagged in the outcome-switching report, and a participant's statement is
 * re-executed by medledger-verify against the ledger.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActorRole } from '@medledger/platform';
import { ROOT, say } from './lib';
import { devToken } from './token';

const SEAL_TIMEOUT_MS = 30_000;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

type As = { sub: string; role: ActorRole; org?: string };
const SPONSOR: As = { sub: 'Organization/demo-pharma', role: 'sponsor', org: 'Organization/demo-pharma' };
const SITE: As = { sub: 'Practitioner/demo-investigator', role: 'investigator', org: 'Organization/demo-site' };
const MONITOR: As = { sub: 'Organization/demo-irb', role: 'monitor' };
const participant = (id: string): As => ({ sub: `Patient/${id}`, role: 'participant' });

export async function demoTrial(trialsUrl: string, ledgerUrl: string): Promise<boolean> {
  let ok = true;
  const call = async (as: As, method: string, path: string, body?: unknown) => {
    const token = await devToken(as.sub, as.role, 'trials', '10m', as.org);
    const response = await fetch(`${trialsUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  const must = async (what: string, as: As, method: string, path: string, body?: unknown) => {
    const result = await call(as, method, path, body);
    if (result.status >= 300) throw new Error(`${what}: ${result.status} ${JSON.stringify(result.body)}`);
    return result.body;
  };
  const until = async <T>(probe: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + SEAL_TIMEOUT_MS;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error('the ledger did not seal in time');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };

  const outcomes = [
    { outcomeId: 'hba1c', kind: 'primary', title: 'Change in HbA1c', measure: 'HbA1c (%)', timeFrame: 'Week 24' },
    { outcomeId: 'weight', kind: 'secondary', title: 'Change in body weight', measure: 'kg', timeFrame: 'Week 24' },
  ];
  const registered = await must('register', SPONSOR, 'POST', '/v1/trials', {
    protocolId: `DEMO-${Date.now()}`,
    briefTitle: 'Drug X for type 2 diabetes',
    officialTitle: 'A randomised, double-blind, placebo-controlled trial of drug X in adults with type 2 diabetes',
    conditions: ['Type 2 diabetes mellitus'],
    phase: 'phase-3',
    design: { allocation: 'randomized', masking: 'double' },
    arms: [
      {
        armId: 'drug-x',
        label: 'Drug X 10 mg',
        type: 'experimental',
        interventions: [{ type: 'drug', label: 'Drug X' }],
      },
      { armId: 'placebo', label: 'Placebo', type: 'placebo-comparator' },
    ],
    eligibility: { criteria: 'Adults 18 to 75 with type 2 diabetes and HbA1c 7 to 10 %' },
    targetEnrolment: 100,
    sponsor: 'Demo Pharma',
    sites: [{ site: SITE.org, label: 'Demo site' }],
    outcomes,
    protocolDocumentSha256: sha('protocol v1'),
    analysisPlanSha256: sha('statistical analysis plan v1'),
  });
  const trialId = registered['trialId'] as string;
  say(`  sponsor registers trial ${trialId.slice(0, 8)} (2 pre-specified outcomes, protocol and SAP hashes)`);
  await must('activate', SPONSOR, 'POST', `/v1/trials/${trialId}/activate`);
  const schedule = {
    scheduleId: 'demo-pay',
    version: 1,
    currency: 'EUR',
    visits: ['V1', 'V2', 'V3', 'V4'].map((visitId) => ({ visitId, amount: 5000 })),
    completionBonus: { amount: 4000, maxShare: 0.2 },
    reimbursement: { categories: ['travel'], perVisitLimit: 2000 },
  };
  await must('consent form', SPONSOR, 'POST', `/v1/trials/${trialId}/consent-forms`, {
    documentSha256: sha('consent form v1'),
    schedule,
  });
  await must('randomisation', SPONSOR, 'POST', `/v1/trials/${trialId}/randomisation`, {
    scheme: {
      algorithm: 'permuted-blocks-v1',
      arms: [
        { armId: 'drug-x', ratio: 1 },
        { armId: 'placebo', ratio: 1 },
      ],
      blockSizes: [4],
      listLength: 100,
    },
  });
  const screen = (id: string) =>
    call(SITE, 'POST', `/v1/trials/${trialId}/participants`, { participantId: id, site: SITE.org, eligible: true });
  const early = await screen('DEMO-P1');
  say(
    `  activated; screening before the ledger sealed the activation: ${early.status} ${typeof early.body['code'] === 'string' ? early.body['code'] : 'accepted'}`,
  );
  await until(async () => (early.status === 201 || (await screen('DEMO-P1')).status === 201 ? true : undefined));
  say('  the activation is sealed: registration, documents and outcomes anchored; screening accepted');
  await must('screen P2', SITE, 'POST', `/v1/trials/${trialId}/participants`, {
    participantId: 'DEMO-P2',
    site: SITE.org,
    eligible: true,
  });

  const base = `/v1/trials/${trialId}/participants`;
  for (const id of ['DEMO-P1', 'DEMO-P2']) {
    await must('consent', participant(id), 'POST', `${base}/${id}/consents`, { formVersion: 1 });
    await must('enrol', SITE, 'POST', `${base}/${id}/enrol`, {});
    await until(async () =>
      (await call(SITE, 'POST', `${base}/${id}/randomise`, {})).status === 201 ? true : undefined,
    );
    await must('V1', SITE, 'POST', `${base}/${id}/visits`, { visitId: 'V1', outcome: 'completed', date: '2026-12-09' });
  }
  say('  two participants consented, enrolled, randomised against the anchored commitment, and attended V1');

  await must('amend', SPONSOR, 'POST', `/v1/trials/${trialId}/amendments`, {
    protocolDocumentSha256: sha('protocol v2'),
    analysisPlanSha256: sha('statistical analysis plan v1'),
    outcomes,
    reconsentRequired: true,
  });
  await must('form v2', SPONSOR, 'POST', `/v1/trials/${trialId}/consent-forms`, {
    documentSha256: sha('consent form v2'),
    protocolVersion: 2,
    schedule: { ...schedule, version: 2 },
  });
  const blocked = await call(SITE, 'POST', `${base}/DEMO-P1/visits`, {
    visitId: 'V2',
    outcome: 'completed',
    date: '2026-12-16',
  });
  say(`  amendment v2 requires re-consent: a visit before it -> ${blocked.status} ${String(blocked.body['code'])}`);
  ok &&= blocked.body['code'] === 'TRIALS.RECONSENT_REQUIRED';
  await must('re-consent', participant('DEMO-P1'), 'POST', `${base}/DEMO-P1/consents`, { formVersion: 2 });
  for (const visitId of ['V2', 'V3', 'V4'])
    await must(visitId, SITE, 'POST', `${base}/DEMO-P1/visits`, { visitId, outcome: 'completed', date: '2026-12-20' });
  await must('result', SITE, 'POST', `${base}/DEMO-P1/results`, {
    outcomeId: 'hba1c',
    value: -0.9,
    unit: '%',
    assessedOn: '2026-12-20',
  });
  await must('complete', SITE, 'POST', `${base}/DEMO-P1/complete`, {});
  await must('expense', participant('DEMO-P2'), 'POST', `${base}/DEMO-P2/expenses`, {
    visitId: 'V1',
    category: 'travel',
    amount: 1800,
  });
  await must('unregistered result', SITE, 'POST', `${base}/DEMO-P2/results`, {
    outcomeId: 'quality-of-life',
    value: 'better',
    assessedOn: '2026-12-12',
  });
  await must('withdraw', participant('DEMO-P2'), 'POST', `${base}/DEMO-P2/withdraw`, { reason: 'moving abroad' });
  say('  DEMO-P1 re-consents and completes V2-V4; DEMO-P2 claims travel, reports an unregistered outcome, withdraws');

  const report = await until(async () => {
    const body = (await call(MONITOR, 'GET', `/v1/trials/${trialId}/outcome-report`)).body;
    const lines = [
      ...(body['registered'] as Array<{ registration: { sealed: boolean } }>),
      ...(body['unregistered'] as Array<{ report: { sealed: boolean } }>),
    ];
    const sealed = lines.every((line) => ('registration' in line ? line.registration.sealed : line.report.sealed));
    return sealed ? body : undefined;
  });
  const summary = report['summary'] as Record<string, number>;
  say(
    `  outcome report: ${summary['registered']} registered, ${summary['reported']} reported, ${summary['notReported']} not reported, ` +
      `${summary['unregistered']} reported but never registered (${(report['unregistered'] as Array<{ outcomeId: string }>).map((u) => u.outcomeId).join(', ')}), every line sealed`,
  );
  ok &&= summary['unregistered'] === 1;

  for (const id of ['DEMO-P1', 'DEMO-P2']) {
    const statement = await until(async () => {
      const body = (await call(participant(id), 'GET', `${base}/${id}/statement`)).body;
      return (body['events'] as Array<{ receipt?: unknown }>).every((e) => e.receipt) ? body : undefined;
    });
    const totals = (statement['evaluation'] as { totals: { payment: number; reimbursement: number } }).totals;
    const file = join(mkdtempSync(join(tmpdir(), 'medledger-statement-')), `${id}.json`);
    writeFileSync(file, JSON.stringify(statement, null, 2));
    const verify = spawnSync(
      join(ROOT, 'node_modules/.bin/tsx'),
      [
        '--tsconfig',
        join(ROOT, 'tsconfig.base.json'),
        join(ROOT, 'tools/verify/src/main.ts'),
        'statement',
        file,
        '--url',
        ledgerUrl,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    say(
      `  ${id}: paid ${totals.payment / 100} EUR + ${totals.reimbursement / 100} EUR reimbursed; medledger-verify statement: ${verify.stdout.trim() || verify.stderr.trim()}`,
    );
    ok &&= verify.status === 0;
  }
  const fairness = (await call(MONITOR, 'GET', `/v1/trials/${trialId}/fairness-report`)).body;
  say(
    `  fairness report: ${fairness['fair'] ? 'fair' : 'UNFAIR'} (${(fairness['differences'] as unknown[]).length} difference(s), each with its cause)`,
  );
  ok &&= fairness['fair'] === true;
  return ok;
}

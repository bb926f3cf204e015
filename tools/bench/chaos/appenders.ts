/**
 * Clients that append to a producing service through its HTTP API, one command per call, as its users would: records
 * registers patients; trials screens, consents, enrols participants and records their visits (the participant's
 * lifecycle, over and over, so both the one-statement path of a visit and the transaction of an enrolment are
 * cut by kills); supply captures EPCIS documents of commissioning events, sending a document again when its answer
 * was cut off (the replay path: the answer then names the events first captured). For service-kill.
 */
import { randomBytes } from 'node:crypto';
import { sleep } from '../common';
import { sglnUri, sgtinUri, withCheckDigit } from '../gs1';
import { say } from './harness';
import type { SealedRecords } from './sealed-records';
import type { SealedService } from './sealed-service';

/**
 * What one command came to: acknowledged (the ids of the events the answer names), refused (an HTTP error answer:
 * its status and code), or cut off (no answer: the service was killed or is starting).
 */
export type Outcome = { eventIds: string[] } | { refused: string } | undefined;

/** One command per call by client `client`. */
export interface Appender {
  /** What a command is, for the scenario's line. */
  command: string;
  append(client: number): Promise<Outcome>;
  /** Counts of the appender's own (e.g. answers that were replays), for the figures. */
  figures?(): Record<string, number>;
}

interface Answer {
  status: number;
  body: unknown;
}

/** POST `body` as JSON; undefined when no answer came (refused connection, cut off by a kill). */
async function post(url: string, authorization: string, body: unknown, contentType = 'application/json') {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization, 'content-type': contentType },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    return { status: response.status, body: parsed } satisfies Answer;
  } catch {
    // Down or restarting: wait a little rather than spin.
    await sleep(200);
    return undefined;
  }
}

/** An HTTP refusal in a word: its status and the problem's stable code. */
function refusal(answer: Answer): string {
  const code = (answer.body as { code?: unknown } | undefined)?.code;
  return `${answer.status}${typeof code === 'string' ? ` ${code}` : ''}`;
}

export function recordsAppender(stack: SealedRecords): Appender {
  return {
    command: 'patient registrations',
    async append() {
      const eventId = await stack.register();
      return eventId ? { eventIds: [eventId] } : undefined;
    },
  };
}

// ------------------------------------------------------------------------------------------------ trials

const SITE = 'Organization/chaos-site';
const VISITS = Array.from({ length: 8 }, (_v, i) => `V${i + 1}`);
/** An HTTP refusal of a step is tried again this often (a version conflict between clients) before moving on. */
const STEP_ATTEMPTS = 5;

const hex = () => randomBytes(32).toString('hex');

/**
 * A trial registered, activated and sealed by the ledger (screening waits for the anchored activation), with a
 * consent form paying every visit; then each client walks participants of its own through screening, consent,
 * enrolment and eight visits.
 */
export async function trialsAppender(stack: SealedService): Promise<Appender> {
  const base = `${stack.app.baseUrl}/v1/trials`;
  const sponsorOrg = 'Organization/chaos-sponsor';
  const sponsor = `Bearer ${await stack.token(sponsorOrg, 'sponsor', sponsorOrg)}`;
  const investigator = `Bearer ${await stack.token('Practitioner/chaos-investigator', 'investigator', SITE)}`;
  const expect = (answer: Answer | undefined, status: number, what: string): Record<string, unknown> => {
    if (answer?.status !== status) throw new Error(`${what}: ${answer?.status} ${JSON.stringify(answer?.body)}`);
    return answer.body as Record<string, unknown>;
  };
  const { trialId } = expect(
    await post(base, sponsor, {
      protocolId: `CHAOS-${randomBytes(3).toString('hex')}`,
      briefTitle: 'Chaos trial',
      officialTitle: 'A trial for the service-kill scenario',
      conditions: ['Chaos'],
      phase: 'phase-3',
      design: { allocation: 'non-randomized', masking: 'none' },
      arms: [{ armId: 'only', label: 'Only arm', type: 'experimental' }],
      eligibility: { criteria: 'all' },
      targetEnrolment: 100_000,
      sponsor: 'Chaos',
      sites: [{ site: SITE, label: 'Chaos site' }],
      outcomes: [{ outcomeId: 'o1', kind: 'primary', title: 'Primary', measure: 'M', timeFrame: 'End' }],
      protocolDocumentSha256: hex(),
      analysisPlanSha256: hex(),
    }),
    201,
    'registering the trial',
  ) as { trialId: string };
  const activation = expect(await post(`${base}/${trialId}/activate`, sponsor, {}), 200, 'activating the trial') as {
    events: Array<{ eventId: string }>;
  };
  expect(
    await post(`${base}/${trialId}/consent-forms`, sponsor, {
      documentSha256: hex(),
      schedule: {
        scheduleId: 'chaos',
        version: 1,
        currency: 'EUR',
        visits: VISITS.map((visitId) => ({ visitId, amount: 2500 })),
        milestones: [{ milestoneId: 'half', amount: 5000, afterVisits: VISITS.slice(0, VISITS.length / 2) }],
        completionBonus: { amount: 5000, maxShare: 0.2 },
        dueAfterVisits: VISITS.filter((_v, i) => i % 4 === 3),
      },
    }),
    201,
    'publishing the consent form',
  );
  // Screening is refused until the activation is anchored: the real ledger seals it and trials verifies the receipt.
  const ids = activation.events.map((e) => e.eventId);
  const deadline = Date.now() + 120_000;
  while (!(await stack.sealed(ids))) {
    if (Date.now() > deadline) throw new Error(`the trial's activation was not sealed within 120 s`);
    await sleep(250);
  }
  say(`service-kill: trials: trial ${trialId} activated and its activation sealed`);

  const steps = (participantId: string) => [
    { path: `${base}/${trialId}/participants`, body: { participantId, site: SITE, eligible: true } },
    { path: `${base}/${trialId}/participants/${participantId}/consents`, body: { formVersion: 1 } },
    { path: `${base}/${trialId}/participants/${participantId}/enrol`, body: {} },
    ...VISITS.map((visitId) => ({
      path: `${base}/${trialId}/participants/${participantId}/visits`,
      body: { visitId, outcome: 'completed', date: '2026-12-02' },
    })),
  ];
  const clients = new Map<number, { participant: number; step: number; refusals: number }>();
  const run = `${randomBytes(2).toString('hex')}`;
  return {
    command: 'participant commands (screen, consent, enrol, 8 visits)',
    async append(client) {
      const at = clients.get(client) ?? { participant: 0, step: 0, refusals: 0 };
      clients.set(client, at);
      const plan = steps(`C${client}-${run}-${at.participant}`);
      const step = plan[at.step] as { path: string; body: unknown };
      const answer = await post(step.path, investigator, step.body);
      const next = () => {
        at.refusals = 0;
        if (++at.step === plan.length) {
          at.step = 0;
          at.participant++;
        }
      };
      // No answer (a kill): the same step again once the service is back; it may have been committed.
      if (!answer) return undefined;
      if (answer.status === 201) {
        next();
        return { eventIds: (answer.body as { events: Array<{ eventId: string }> }).events.map((e) => e.eventId) };
      }
      // A refusal: a conflict with another client's enrolment is tried again; a step done before its answer was
      // cut off is refused as done, and the walk goes on.
      if (++at.refusals >= STEP_ATTEMPTS || (answer.status >= 400 && answer.status < 500 && answer.status !== 409))
        next();
      return { refused: refusal(answer) };
    },
  };
}

// ------------------------------------------------------------------------------------------------ supply

const COMPANY_PREFIX = '0614141';
const MAKER = withCheckDigit(`${COMPANY_PREFIX}00001`);
const MAKER_SGLN = sglnUri(MAKER, COMPANY_PREFIX.length);
const GTIN = withCheckDigit(`0${COMPANY_PREFIX}10000`);
const sgtin = (serial: string) => sgtinUri(GTIN, serial, COMPANY_PREFIX.length);
const EVENTS_PER_DOCUMENT = 5;
const PACKS_PER_EVENT = 2;

/** The manufacturer commissions fresh packs: documents of five commissioning events of two packs each. */
export async function supplyAppender(stack: SealedService): Promise<Appender> {
  const url = `${stack.app.baseUrl}/v1/capture`;
  const maker = `Bearer ${await stack.token(`Organization/${MAKER}`, 'manufacturer', `Organization/${MAKER}`)}`;
  const run = randomBytes(2).toString('hex');
  const clients = new Map<number, { documents: number; pending?: unknown; refusals: number }>();
  let replays = 0;
  const document = (client: number, n: number) => ({
    '@context': ['https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld'],
    type: 'EPCISDocument',
    schemaVersion: '2.0',
    creationDate: new Date().toISOString(),
    epcisBody: {
      eventList: Array.from({ length: EVENTS_PER_DOCUMENT }, (_e, e) => ({
        type: 'ObjectEvent',
        eventTime: new Date(Date.now() - 60_000).toISOString(),
        eventTimeZoneOffset: '+00:00',
        readPoint: { id: MAKER_SGLN },
        bizLocation: { id: MAKER_SGLN },
        epcList: Array.from({ length: PACKS_PER_EVENT }, (_p, p) => sgtin(`K${run}C${client}D${n}E${e}P${p}`)),
        action: 'ADD',
        bizStep: 'commissioning',
        disposition: 'active',
        ilmd: { 'cbvmda:lotNumber': `K${run}C${client}`, 'cbvmda:itemExpirationDate': '2030-06-30' },
      })),
    },
  });
  return {
    command: `EPCIS documents (${EVENTS_PER_DOCUMENT} commissioning events each)`,
    async append(client) {
      const at = clients.get(client) ?? { documents: 0, refusals: 0 };
      clients.set(client, at);
      // A document whose answer was cut off is sent again as it was: captured before, it is answered as replays.
      at.pending ??= document(client, at.documents++);
      const answer = await post(url, maker, at.pending, 'application/ld+json');
      if (!answer) return undefined;
      if (answer.status === 201) {
        at.pending = undefined;
        at.refusals = 0;
        const body = answer.body as {
          captured: Array<{ eventId: string; replay: boolean }>;
          detections: Array<{ detectionId: string }>;
        };
        replays += body.captured.filter((c) => c.replay).length;
        return { eventIds: [...body.captured.map((c) => c.eventId), ...body.detections.map((d) => d.detectionId)] };
      }
      if (++at.refusals >= STEP_ATTEMPTS) {
        at.pending = undefined;
        at.refusals = 0;
      }
      return { refused: refusal(answer) };
    },
    figures: () => ({ replays }),
  };
}

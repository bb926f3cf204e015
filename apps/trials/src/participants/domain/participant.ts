import {
  evaluate,
  type AccrualLine,
  type DueLine,
  type LineKind,
  type ParticipantFact,
  type PaymentSchedule,
} from '@medledger/compensation';
import { everRegistered, type PresentTrial } from '../../trial/domain/trial';

/**
 * One participant of one trial as an aggregate (pure). Participants are pseudonymous: the id is the site's
 * pseudonym, never a records id. Every participant-level fact is a record with a salted commitment: the record and
 * salt stay here (and go to the participant in their statement), the commitment goes public. FHIR ResearchSubject
 * statuses: eligible, ineligible, on-study, off-study (completed), withdrawn.
 */

export const ParticipantErrorCode = {
  NOT_FOUND: 'TRIALS.PARTICIPANT_NOT_FOUND',
  EXISTS: 'TRIALS.PARTICIPANT_EXISTS',
  WRONG_STATUS: 'TRIALS.WRONG_STATUS',
  NOT_ELIGIBLE: 'TRIALS.NOT_ELIGIBLE',
  NO_CONSENT: 'TRIALS.CONSENT_REQUIRED',
  RECONSENT_REQUIRED: 'TRIALS.RECONSENT_REQUIRED',
  UNKNOWN_FORM: 'TRIALS.UNKNOWN_CONSENT_FORM',
  UNKNOWN_VISIT: 'TRIALS.UNKNOWN_VISIT',
  VISIT_RECORDED: 'TRIALS.VISIT_ALREADY_RECORDED',
  ALREADY_RANDOMISED: 'TRIALS.ALREADY_RANDOMISED',
  UNKNOWN_DUE: 'TRIALS.UNKNOWN_PAYMENT',
  ALREADY_PAID: 'TRIALS.ALREADY_PAID',
  WRONG_SITE: 'TRIALS.WRONG_SITE',
} as const;
export type ParticipantErrorCode = (typeof ParticipantErrorCode)[keyof typeof ParticipantErrorCode];
export interface ParticipantError {
  code: ParticipantErrorCode;
  message: string;
}

/** A participant-level record and what publishes it: its salt stays secret, its commitment goes public. */
export interface Committed<R extends Record<string, unknown>> {
  record: R;
  salt: string;
  commitment: string;
}

export interface ConsentRecord {
  formVersion: number;
  protocolVersion: number;
  scheduleHash: string;
  eventId: string;
  at: string;
}

export type ParticipantStatus = 'eligible' | 'ineligible' | 'on-study' | 'off-study' | 'withdrawn';

export type ParticipantState =
  | { status: 'absent' }
  | {
      status: ParticipantStatus;
      trialId: string;
      participantId: string;
      site: string;
      consents: ConsentRecord[];
      /** The schedule of the first consent: the participant's contract for the whole study. */
      scheduleHash?: string;
      allocation?: { sequence: number; armId: string; eventId: string };
      facts: ParticipantFact[];
      visits: string[];
      accrued: Array<{ lineId: string; kind: LineKind; amount: number; eventId: string }>;
      dues: Array<{ dueId: string; amount: number; reimbursement: number; eventId: string; issuedEventId?: string }>;
    };
export type PresentParticipant = Exclude<ParticipantState, { status: 'absent' }>;
export const NO_PARTICIPANT: ParticipantState = { status: 'absent' };

type At = { at: string };
type Ids = { trialId: string; participantId: string };

export type ParticipantEvent =
  | {
      type: 'ParticipantScreened';
      data: Ids & At & { site: string; eligible: boolean } & Committed<Record<string, unknown>>;
    }
  | {
      type: 'ConsentGiven';
      data: Ids &
        At & { formVersion: number; protocolVersion: number; scheduleHash: string } & Committed<
          Record<string, unknown>
        >;
    }
  | {
      type: 'ParticipantEnrolled';
      data: Ids & At & { site: string; protocolVersion: number } & Committed<Record<string, unknown>>;
    }
  | { type: 'ParticipantRandomised'; data: Ids & At & { sequence: number; armId: string; leafHash: string } }
  | {
      type: 'VisitRecorded';
      data: Ids & At & { visitId: string; outcome: 'completed' | 'missed' } & Committed<Record<string, unknown>>;
    }
  | {
      type: 'ResultRecorded';
      data: Ids &
        At & { resultId: string; outcomeId: string; registered: boolean } & Committed<Record<string, unknown>>;
    }
  | { type: 'AdverseEventRecorded'; data: Ids & At & { adverseEventId: string } & Committed<Record<string, unknown>> }
  | {
      type: 'ExpenseClaimed';
      data: Ids & At & { visitId: string; category: string; amount: number } & Committed<Record<string, unknown>>;
    }
  | { type: 'ParticipantWithdrawn'; data: Ids & At & Committed<Record<string, unknown>> }
  | { type: 'ParticipantCompleted'; data: Ids & At & Committed<Record<string, unknown>> }
  | { type: 'PaymentAccrued'; data: Ids & At & AccrualLine & { currency: string; scheduleHash: string } }
  | { type: 'PaymentDue'; data: Ids & At & DueLine & { currency: string; scheduleHash: string } }
  | {
      type: 'PaymentIssued';
      data: Ids &
        At & {
          dueId: string;
          amount: number;
          reimbursement: number;
          currency: string;
          scheduleHash: string;
        } & Committed<Record<string, unknown>>;
    };

export type IdentifiedEvent = ParticipantEvent & { eventId: string };

export type ParticipantCommand =
  | { kind: 'Screen'; participantId: string; site: string; eligible: boolean; criteria: Record<string, unknown> }
  | { kind: 'Consent'; formVersion: number; consent: Record<string, unknown> }
  | { kind: 'Enrol' }
  | { kind: 'Randomise'; sequence: number; armId: string; leafHash: string }
  | { kind: 'RecordVisit'; visitId: string; outcome: 'completed' | 'missed'; details: Record<string, unknown> }
  | { kind: 'RecordResult'; resultId: string; outcomeId: string; result: Record<string, unknown> }
  | { kind: 'RecordAdverseEvent'; adverseEventId: string; adverseEvent: Record<string, unknown> }
  | { kind: 'ClaimExpense'; visitId: string; category: string; amount: number; details: Record<string, unknown> }
  | { kind: 'Withdraw'; details: Record<string, unknown> }
  | { kind: 'Complete'; details: Record<string, unknown> }
  | { kind: 'IssuePayment'; dueId: string; details: Record<string, unknown> };

/** Injected so that decide stays pure: the clock, ids, salts, and the trial the participant belongs to. */
export interface ParticipantContext {
  now: string;
  newId(): string;
  commit<R extends Record<string, unknown>>(record: R): Committed<R>;
  trial: PresentTrial;
}

const err = (code: ParticipantErrorCode, message: string): ParticipantError => ({ code, message });

/** The lowest protocol version a participant's consent must cover before visits: the last one that required re-consent. */
export function consentFloor(trial: PresentTrial): number {
  return [...trial.versions].reverse().find((version) => version.reconsentRequired)?.version ?? 1;
}

export function scheduleOf(trial: PresentTrial, scheduleHash: string | undefined): PaymentSchedule | undefined {
  return trial.forms.find((form) => form.scheduleHash === scheduleHash)?.schedule;
}

/**
 * Decides a command against the participant's state; every fact the compensation contract reads is followed, in
 * the same decision, by the `PaymentAccrued` and `PaymentDue` events the evaluator computes from all facts so far.
 */
export function decideParticipant(
  command: ParticipantCommand,
  state: ParticipantState,
  context: ParticipantContext,
): IdentifiedEvent[] | ParticipantError {
  const { trial, now: at } = context;
  const trialId = trial.trialId;
  const event = <E extends ParticipantEvent>(e: E): E & { eventId: string } => ({ ...e, eventId: context.newId() });

  if (command.kind === 'Screen') {
    if (state.status !== 'absent')
      return err(ParticipantErrorCode.EXISTS, `participant ${command.participantId} exists`);
    if (!trial.registration.sites.some((site) => site.site === command.site))
      return err(ParticipantErrorCode.WRONG_SITE, `${command.site} is not a site of this trial`);
    const { participantId, site, eligible } = command;
    return [
      event({
        type: 'ParticipantScreened',
        data: {
          trialId,
          participantId,
          site,
          eligible,
          at,
          ...context.commit({ eligible, criteria: command.criteria }),
        },
      }),
    ];
  }
  if (state.status === 'absent') return err(ParticipantErrorCode.NOT_FOUND, 'no such participant in this trial');
  const ids = { trialId, participantId: state.participantId };
  const leftStudy = (): ParticipantError | undefined =>
    state.status === 'withdrawn' || state.status === 'off-study'
      ? err(ParticipantErrorCode.WRONG_STATUS, `the participant is ${state.status}`)
      : undefined;
  const onStudy = (): ParticipantError | undefined =>
    state.status === 'on-study'
      ? undefined
      : err(ParticipantErrorCode.WRONG_STATUS, `the participant is ${state.status}, not on-study`);

  switch (command.kind) {
    case 'Consent': {
      const left = leftStudy();
      if (left) return left;
      if (state.status === 'ineligible')
        return err(ParticipantErrorCode.NOT_ELIGIBLE, 'the participant was screened ineligible');
      const form = trial.forms.find((f) => f.formVersion === command.formVersion);
      if (!form) return err(ParticipantErrorCode.UNKNOWN_FORM, `no consent form version ${command.formVersion}`);
      const { formVersion, protocolVersion, scheduleHash } = form;
      return [
        event({
          type: 'ConsentGiven',
          data: { ...ids, formVersion, protocolVersion, scheduleHash, at, ...context.commit(command.consent) },
        }),
      ];
    }
    case 'Enrol': {
      if (state.status !== 'eligible')
        return err(
          ParticipantErrorCode.WRONG_STATUS,
          `only an eligible participant is enrolled (this one is ${state.status})`,
        );
      if (state.consents.length === 0) return err(ParticipantErrorCode.NO_CONSENT, 'the participant has not consented');
      const protocolVersion = trial.versions.at(-1)?.version ?? 1;
      return [
        event({
          type: 'ParticipantEnrolled',
          data: {
            ...ids,
            site: state.site,
            protocolVersion,
            at,
            ...context.commit({ site: state.site, protocolVersion }),
          },
        }),
      ];
    }
    case 'Randomise': {
      const inactive = onStudy();
      if (inactive) return inactive;
      if (state.allocation)
        return err(ParticipantErrorCode.ALREADY_RANDOMISED, `allocation ${state.allocation.sequence} taken already`);
      const { sequence, armId, leafHash } = command;
      return [event({ type: 'ParticipantRandomised', data: { ...ids, sequence, armId, leafHash, at } })];
    }
    case 'RecordVisit': {
      const inactive = onStudy() ?? consentCurrent(state, trial);
      if (inactive) return inactive;
      const schedule = scheduleOf(trial, state.scheduleHash);
      if (schedule && !schedule.visits.some((visit) => visit.visitId === command.visitId))
        return err(ParticipantErrorCode.UNKNOWN_VISIT, `visit ${command.visitId} is not in the schedule`);
      if (state.visits.includes(command.visitId))
        return err(ParticipantErrorCode.VISIT_RECORDED, `visit ${command.visitId} is recorded already`);
      const { visitId, outcome } = command;
      const fact = event({
        type: 'VisitRecorded',
        data: { ...ids, visitId, outcome, at, ...context.commit({ visitId, outcome, ...command.details }) },
      });
      return withPayments(state, trial, [fact], context);
    }
    case 'RecordResult': {
      const inactive = onStudy();
      if (inactive) return inactive;
      const { resultId, outcomeId } = command;
      const registered = everRegistered(trial).has(outcomeId);
      return [
        event({
          type: 'ResultRecorded',
          data: {
            ...ids,
            resultId,
            outcomeId,
            registered,
            at,
            ...context.commit({ resultId, outcomeId, ...command.result }),
          },
        }),
      ];
    }
    case 'RecordAdverseEvent': {
      if (state.status !== 'on-study' && state.status !== 'withdrawn' && state.status !== 'off-study')
        return err(ParticipantErrorCode.WRONG_STATUS, `the participant is ${state.status}`);
      const { adverseEventId } = command;
      return [
        event({
          type: 'AdverseEventRecorded',
          data: { ...ids, adverseEventId, at, ...context.commit({ adverseEventId, ...command.adverseEvent }) },
        }),
      ];
    }
    case 'ClaimExpense': {
      const inactive = onStudy();
      if (inactive) return inactive;
      const { visitId, category, amount } = command;
      const fact = event({
        type: 'ExpenseClaimed',
        data: {
          ...ids,
          visitId,
          category,
          amount,
          at,
          ...context.commit({ visitId, category, amount, ...command.details }),
        },
      });
      return withPayments(state, trial, [fact], context);
    }
    case 'Withdraw': {
      const left = leftStudy();
      if (left) return left;
      const fact = event({ type: 'ParticipantWithdrawn', data: { ...ids, at, ...context.commit(command.details) } });
      return withPayments(state, trial, [fact], context);
    }
    case 'Complete': {
      const inactive = onStudy();
      if (inactive) return inactive;
      const fact = event({ type: 'ParticipantCompleted', data: { ...ids, at, ...context.commit(command.details) } });
      return withPayments(state, trial, [fact], context);
    }
    case 'IssuePayment': {
      const due = state.dues.find((d) => d.dueId === command.dueId);
      if (!due) return err(ParticipantErrorCode.UNKNOWN_DUE, `no payment ${command.dueId} is due`);
      if (due.issuedEventId)
        return err(ParticipantErrorCode.ALREADY_PAID, `${command.dueId} was paid (event ${due.issuedEventId})`);
      const schedule = scheduleOf(trial, state.scheduleHash) as PaymentSchedule;
      return [
        event({
          type: 'PaymentIssued',
          data: {
            ...ids,
            dueId: due.dueId,
            amount: due.amount,
            reimbursement: due.reimbursement,
            currency: schedule.currency,
            scheduleHash: state.scheduleHash as string,
            at,
            ...context.commit(command.details),
          },
        }),
      ];
    }
  }
}

/** Visits need a consent that covers the latest protocol version requiring re-consent. */
function consentCurrent(state: PresentParticipant, trial: PresentTrial): ParticipantError | undefined {
  const latest = state.consents.at(-1);
  if (!latest) return err(ParticipantErrorCode.NO_CONSENT, 'the participant has not consented');
  const floor = consentFloor(trial);
  if (latest.protocolVersion < floor)
    return err(
      ParticipantErrorCode.RECONSENT_REQUIRED,
      `protocol version ${floor} requires re-consent; the participant's consent covers version ${latest.protocolVersion}`,
    );
  return undefined;
}

/** The facts an event adds to the evaluator's input. */
export function factOf(event: IdentifiedEvent): ParticipantFact | undefined {
  switch (event.type) {
    case 'VisitRecorded':
      return { kind: 'visit', eventId: event.eventId, visitId: event.data.visitId, outcome: event.data.outcome };
    case 'ExpenseClaimed':
      return {
        kind: 'expense',
        eventId: event.eventId,
        visitId: event.data.visitId,
        category: event.data.category,
        amount: event.data.amount,
      };
    case 'ParticipantWithdrawn':
      return { kind: 'withdrawn', eventId: event.eventId };
    case 'ParticipantCompleted':
      return { kind: 'completed', eventId: event.eventId };
    default:
      return undefined;
  }
}

/** The facts, then what the contract says they earn and make due that was not accrued or due before. */
function withPayments(
  state: PresentParticipant,
  trial: PresentTrial,
  facts: IdentifiedEvent[],
  context: ParticipantContext,
): IdentifiedEvent[] {
  const schedule = scheduleOf(trial, state.scheduleHash);
  if (!schedule || !state.scheduleHash) return facts;
  const all = [...state.facts, ...facts.map(factOf).filter((fact) => fact !== undefined)];
  const result = evaluate(schedule, all);
  const accrued = new Set(state.accrued.map((line) => line.lineId));
  const due = new Set(state.dues.map((d) => d.dueId));
  const money = { currency: schedule.currency, scheduleHash: state.scheduleHash };
  const ids = { trialId: state.trialId, participantId: state.participantId };
  const at = context.now;
  const payments: IdentifiedEvent[] = [
    ...result.lines
      .filter((line) => !accrued.has(line.lineId))
      .map(
        (line): IdentifiedEvent => ({
          type: 'PaymentAccrued',
          eventId: context.newId(),
          data: { ...ids, ...line, ...money, at },
        }),
      ),
    ...result.due
      .filter((d) => !due.has(d.dueId))
      .map(
        (d): IdentifiedEvent => ({
          type: 'PaymentDue',
          eventId: context.newId(),
          data: { ...ids, ...d, ...money, at },
        }),
      ),
  ];
  return [...facts, ...payments];
}

export function evolveParticipant(state: ParticipantState, event: IdentifiedEvent): ParticipantState {
  if (event.type === 'ParticipantScreened') {
    const { trialId, participantId, site, eligible } = event.data;
    return {
      status: eligible ? 'eligible' : 'ineligible',
      trialId,
      participantId,
      site,
      consents: [],
      facts: [],
      visits: [],
      accrued: [],
      dues: [],
    };
  }
  if (state.status === 'absent') return state;
  const fact = factOf(event);
  const next = fact ? { ...state, facts: [...state.facts, fact] } : state;
  switch (event.type) {
    case 'ConsentGiven': {
      const { formVersion, protocolVersion, scheduleHash, at } = event.data;
      return {
        ...next,
        consents: [...next.consents, { formVersion, protocolVersion, scheduleHash, eventId: event.eventId, at }],
        scheduleHash: next.scheduleHash ?? scheduleHash,
      };
    }
    case 'ParticipantEnrolled':
      return { ...next, status: 'on-study' };
    case 'ParticipantRandomised':
      return {
        ...next,
        allocation: { sequence: event.data.sequence, armId: event.data.armId, eventId: event.eventId },
      };
    case 'VisitRecorded':
      return { ...next, visits: [...next.visits, event.data.visitId] };
    case 'ParticipantWithdrawn':
      return { ...next, status: 'withdrawn' };
    case 'ParticipantCompleted':
      return { ...next, status: 'off-study' };
    case 'PaymentAccrued':
      return {
        ...next,
        accrued: [
          ...next.accrued,
          { lineId: event.data.lineId, kind: event.data.kind, amount: event.data.amount, eventId: event.eventId },
        ],
      };
    case 'PaymentDue':
      return {
        ...next,
        dues: [
          ...next.dues,
          {
            dueId: event.data.dueId,
            amount: event.data.amount,
            reimbursement: event.data.reimbursement,
            eventId: event.eventId,
          },
        ],
      };
    case 'PaymentIssued':
      return {
        ...next,
        dues: next.dues.map((d) => (d.dueId === event.data.dueId ? { ...d, issuedEventId: event.eventId } : d)),
      };
    default:
      return next;
  }
}

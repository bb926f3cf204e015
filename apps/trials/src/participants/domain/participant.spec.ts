import { randomUUID } from 'node:crypto';
import { parseSchedule, recordCommitment } from '@medledger/compensation';
import { Registration } from '../../registration/domain/registration';
import {
  decideTrial,
  evolveTrial,
  NO_TRIAL,
  type PresentTrial,
  type TrialCommand,
  type TrialState,
} from '../../trial/domain/trial';
import {
  consentFloor,
  decideParticipant,
  evolveParticipant,
  NO_PARTICIPANT,
  type IdentifiedEvent,
  type ParticipantCommand,
  type ParticipantState,
} from './participant';

const hex = 'ab'.repeat(32);
const registration = Registration.parse({
  protocolId: 'MDL-1',
  briefTitle: 'Brief',
  officialTitle: 'Official',
  conditions: ['T2D'],
  phase: 'phase-3',
  design: { allocation: 'randomized', masking: 'double' },
  arms: [
    { armId: 'a', label: 'A', type: 'experimental' },
    { armId: 'b', label: 'B', type: 'placebo-comparator' },
  ],
  eligibility: { criteria: 'adults' },
  targetEnrolment: 10,
  sponsor: 'ACME',
  sites: [{ site: 'Organization/site-a', label: 'A' }],
  outcomes: [{ outcomeId: 'o1', kind: 'primary', title: 'T', measure: 'M', timeFrame: 'W24' }],
  protocolDocumentSha256: hex,
  analysisPlanSha256: hex,
});
const schedule = parseSchedule({
  scheduleId: 's',
  version: 1,
  currency: 'EUR',
  visits: [
    { visitId: 'V1', amount: 1000 },
    { visitId: 'V2', amount: 1000 },
  ],
  completionBonus: { amount: 400, maxShare: 0.2 },
});
if (!schedule.ok) throw new Error('schedule');

let sealed = new Set<string>();
function trialAfter(commands: TrialCommand[]): PresentTrial {
  let state: TrialState = NO_TRIAL;
  for (const command of commands) {
    const events = decideTrial(command, state, { now: '2026-12-01T00:00:00.000Z', anchored: (id) => sealed.has(id) });
    if (!Array.isArray(events)) throw new Error(`${command.kind}: ${events.code}`);
    for (const event of events) {
      const eventId = randomUUID();
      sealed.add(eventId);
      state = evolveTrial(state, { ...event, eventId });
    }
  }
  return state as PresentTrial;
}

const ACTIVE: TrialCommand[] = [
  { kind: 'Register', trialId: 't-1', sponsor: 'Organization/acme', registration },
  { kind: 'Activate' },
  { kind: 'PublishConsentForm', documentSha256: hex, schedule: schedule.schedule, scheduleHash: schedule.hash },
];

const context = (trial: PresentTrial) => ({
  now: '2026-12-02T00:00:00.000Z',
  newId: randomUUID,
  commit: <R extends Record<string, unknown>>(record: R) => ({
    record,
    salt: 'c2FsdA==',
    commitment: recordCommitment(record, Buffer.from('salt')),
  }),
  trial,
});

/** Given commands, when one more, then events or an error code. */
function run(trial: PresentTrial, given: ParticipantCommand[], when: ParticipantCommand) {
  let state: ParticipantState = NO_PARTICIPANT;
  for (const command of given) {
    const events = decideParticipant(command, state, context(trial));
    if (!Array.isArray(events)) throw new Error(`${command.kind}: ${events.code}`);
    state = events.reduce((s: ParticipantState, e: IdentifiedEvent) => evolveParticipant(s, e), state);
  }
  return decideParticipant(when, state, context(trial));
}

const SCREEN: ParticipantCommand = {
  kind: 'Screen',
  participantId: 'P1',
  site: 'Organization/site-a',
  eligible: true,
  criteria: {},
};
const CONSENT: ParticipantCommand = { kind: 'Consent', formVersion: 1, consent: {} };
const ENROL: ParticipantCommand = { kind: 'Enrol' };
const visit = (visitId: string): ParticipantCommand => ({
  kind: 'RecordVisit',
  visitId,
  outcome: 'completed',
  details: {},
});

beforeEach(() => {
  sealed = new Set();
});

describe('a participant', () => {
  const types = (result: ReturnType<typeof run>) => (Array.isArray(result) ? result.map((e) => e.type) : result.code);

  test.each<[string, ParticipantCommand[], ParticipantCommand, string | string[]]>([
    ['is screened at a site of the trial', [], SCREEN, ['ParticipantScreened']],
    ['is not screened at another site', [], { ...SCREEN, site: 'Organization/site-z' }, 'TRIALS.WRONG_SITE'],
    ['is not enrolled without consent', [SCREEN], ENROL, 'TRIALS.CONSENT_REQUIRED'],
    ['is not enrolled when ineligible', [{ ...SCREEN, eligible: false }], ENROL, 'TRIALS.WRONG_STATUS'],
    ['consents to a published form only', [SCREEN], { ...CONSENT, formVersion: 9 }, 'TRIALS.UNKNOWN_CONSENT_FORM'],
    ['is enrolled after consent', [SCREEN, CONSENT], ENROL, ['ParticipantEnrolled']],
    ['has no visit before enrolment', [SCREEN, CONSENT], visit('V1'), 'TRIALS.WRONG_STATUS'],
    ['is paid for a visit', [SCREEN, CONSENT, ENROL], visit('V1'), ['VisitRecorded', 'PaymentAccrued', 'PaymentDue']],
    ['has a visit once', [SCREEN, CONSENT, ENROL, visit('V1')], visit('V1'), 'TRIALS.VISIT_ALREADY_RECORDED'],
    ['has scheduled visits only', [SCREEN, CONSENT, ENROL], visit('X'), 'TRIALS.UNKNOWN_VISIT'],
    [
      'earns the bonus on completion',
      [SCREEN, CONSENT, ENROL, visit('V1'), visit('V2')],
      { kind: 'Complete', details: {} },
      ['ParticipantCompleted', 'PaymentAccrued', 'PaymentDue'],
    ],
    [
      'withdraws, with the bonus pro rata',
      [SCREEN, CONSENT, ENROL, visit('V1')],
      { kind: 'Withdraw', details: {} },
      ['ParticipantWithdrawn', 'PaymentAccrued', 'PaymentDue'],
    ],
    [
      'has no visit after withdrawal',
      [SCREEN, CONSENT, ENROL, { kind: 'Withdraw', details: {} }],
      visit('V1'),
      'TRIALS.WRONG_STATUS',
    ],
    [
      'is paid a due amount once',
      [SCREEN, CONSENT, ENROL, visit('V1'), { kind: 'IssuePayment', dueId: 'due:1', details: {} }],
      { kind: 'IssuePayment', dueId: 'due:1', details: {} },
      'TRIALS.ALREADY_PAID',
    ],
    [
      'is not paid what is not due',
      [SCREEN, CONSENT, ENROL],
      { kind: 'IssuePayment', dueId: 'due:1', details: {} },
      'TRIALS.UNKNOWN_PAYMENT',
    ],
  ])('%s', (_name, given, when, expected) => {
    expect(types(run(trialAfter(ACTIVE), given, when))).toEqual(expected);
  });

  it('needs re-consent after an amendment that requires it, and is paid by the schedule of the first consent', () => {
    const amended = trialAfter([
      ...ACTIVE,
      {
        kind: 'Amend',
        protocolDocumentSha256: hex,
        analysisPlanSha256: hex,
        outcomes: registration.outcomes,
        reconsentRequired: true,
      },
    ]);
    expect(consentFloor(amended)).toBe(2);
    expect(types(run(amended, [SCREEN, CONSENT, ENROL], visit('V1')))).toBe('TRIALS.RECONSENT_REQUIRED');
    const cheaper = parseSchedule({
      scheduleId: 's',
      version: 2,
      currency: 'EUR',
      visits: [{ visitId: 'V1', amount: 1 }],
    });
    if (!cheaper.ok) throw new Error('schedule');
    const withForm = trialAfter([
      ...ACTIVE,
      {
        kind: 'Amend',
        protocolDocumentSha256: hex,
        analysisPlanSha256: hex,
        outcomes: registration.outcomes,
        reconsentRequired: true,
      },
      { kind: 'PublishConsentForm', documentSha256: hex, schedule: cheaper.schedule, scheduleHash: cheaper.hash },
    ]);
    const events = run(
      withForm,
      [SCREEN, CONSENT, ENROL, { kind: 'Consent', formVersion: 2, consent: {} }],
      visit('V1'),
    );
    if (!Array.isArray(events)) throw new Error(events.code);
    const accrued = events.find((e) => e.type === 'PaymentAccrued');
    expect(accrued?.data).toMatchObject({ amount: 1000, scheduleHash: schedule.hash });
  });
});

describe('a trial', () => {
  it('refuses enrolment until its activation is anchored', () => {
    const draft = trialAfter([{ kind: 'Register', trialId: 't', sponsor: 'Organization/acme', registration }]);
    const activated = decideTrial({ kind: 'Activate' }, draft, { now: 'x', anchored: () => false });
    if (!Array.isArray(activated)) throw new Error(activated.code);
    const active = evolveTrial(draft, { ...activated[0]!, eventId: 'not-sealed' }) as PresentTrial;
    expect(
      decideTrial({ kind: 'Join', participantId: 'P' }, active, { now: 'x', anchored: () => false }),
    ).toMatchObject({
      code: 'TRIALS.NOT_ANCHORED',
    });
    expect(
      decideTrial({ kind: 'Join', participantId: 'P' }, active, { now: 'x', anchored: (id) => id === 'not-sealed' }),
    ).toEqual([{ type: 'ParticipantJoined', data: { participantId: 'P', at: 'x' } }]);
  });

  it('diffs outcomes across versions and says whether the primary changed after the first enrolment', () => {
    const trial = trialAfter([...ACTIVE, { kind: 'Join', participantId: 'P' }]);
    const changed = decideTrial(
      {
        kind: 'Amend',
        protocolDocumentSha256: hex,
        analysisPlanSha256: hex,
        outcomes: [
          { outcomeId: 'o1', kind: 'secondary', title: 'T', measure: 'M', timeFrame: 'W24' },
          { outcomeId: 'o2', kind: 'primary', title: 'New', measure: 'M', timeFrame: 'W24' },
        ],
        reconsentRequired: false,
      },
      trial,
      { now: 'x', anchored: () => true },
    );
    expect(Array.isArray(changed) && changed[0]?.data).toMatchObject({
      version: 2,
      diff: { added: ['o2'], removed: [], changed: ['o1'], primaryChanged: true, afterFirstEnrolment: true },
    });
  });

  it('flags a reported outcome that no version registered, once', () => {
    const trial = trialAfter([...ACTIVE, { kind: 'ReportOutcome', outcomeId: 'qol' }]);
    expect(trial.reported).toEqual([expect.objectContaining({ outcomeId: 'qol', registered: false })]);
    expect(decideTrial({ kind: 'ReportOutcome', outcomeId: 'qol' }, trial, { now: 'x', anchored: () => true })).toEqual(
      [],
    );
  });

  it('takes allocations in order only after the commitment is anchored', () => {
    const committed = trialAfter([
      ...ACTIVE,
      { kind: 'CommitAllocation', seed: 's', scheme: {}, root: 'r', listLength: 1, schemeHash: 'h', seedHash: 'h' },
    ]);
    const take = (trial: PresentTrial, anchored: (id: string) => boolean) =>
      decideTrial({ kind: 'TakeAllocation', participantId: 'P' }, trial, { now: 'x', anchored });
    expect(take(committed, (id) => id !== committed.allocation?.eventId)).toMatchObject({
      code: 'TRIALS.NOT_ANCHORED',
    });
    const first = take(committed, () => true);
    expect(Array.isArray(first) && first[0]?.data).toMatchObject({ sequence: 1 });
    const full = evolveTrial(committed, {
      ...(
        first as Array<{ type: 'AllocationTaken'; data: { participantId: string; sequence: number; at: string } }>
      )[0]!,
      eventId: 'e',
    }) as PresentTrial;
    expect(take(full, () => true)).toMatchObject({ code: 'TRIALS.ALLOCATION_EXHAUSTED' });
  });
});

import { z } from 'zod';
import { Base64Hash, PUBLIC_EVENT_TOPICS } from '../envelope';
import { defineEvent } from './define';

// ------------------------------------------------------------------------------------------------ trials
//
// Trial-level facts (registration hashes, the outcome lists, consent forms and their payment schedules, the
// allocation commitment) are public registry data and go out in clear. Participant-level facts go out as ids,
// codes, amounts and salted commitments: participants are pseudonymous, and their results, adverse events and
// free text stay in trials (ADR 0008).

const trialsEvent = {
  topic: PUBLIC_EVENT_TOPICS.trials,
  producer: 'trials',
  consumers: ['ledger'],
  envelope: 'cloudevents',
} as const;

export const TrialCode = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/);
const TrialId = z.uuid().describe('id of the trial in trials');
const ParticipantId = TrialCode.describe("the participant's pseudonym in this trial (never a records id)");
const At = (what: string) => z.iso.datetime().describe(`when trials committed the ${what}`);
const Sha256 = (what: string) => Base64Hash.describe(`base64 SHA-256 of ${what}`);
const Commitment = Base64Hash.describe(
  'base64 SHA-256 over a 32-byte salt and the RFC 8785 JSON of the participant-level record; the record and salt stay in trials and go to the participant in their statement',
);

export const OUTCOME_KINDS = ['primary', 'secondary', 'other'] as const;

/** A pre-specified outcome as registered (ClinicalTrials.gov: Outcome Measure title, description, time frame). */
export const RegisteredOutcome = z.object({
  outcomeId: TrialCode.describe('stable id of the outcome within the trial'),
  kind: z.enum(OUTCOME_KINDS).describe('primary, secondary or other'),
  title: z.string().min(1).max(300).describe('the outcome measure title'),
  measure: z.string().min(1).max(1000).describe('what is measured and how'),
  timeFrame: z.string().min(1).max(300).describe('when it is assessed'),
});

const protocolVersionFields = {
  trialId: TrialId,
  protocolId: z.string().min(1).max(64).describe("the sponsor's unique protocol id"),
  protocolVersion: z.number().int().min(1).describe('1 at activation, +1 per amendment'),
  registrationHash: Sha256('the RFC 8785 JSON of the registration as of this version'),
  protocolDocumentHash: Sha256('the protocol document'),
  analysisPlanHash: Sha256('the statistical analysis plan'),
  outcomes: z.array(RegisteredOutcome).min(1).describe('the pre-specified outcomes of this version, in clear'),
  outcomesHash: Sha256('the RFC 8785 JSON of the outcome list'),
};

const outcomeExample = [
  {
    outcomeId: 'hba1c-24w',
    kind: 'primary' as const,
    title: 'Change in HbA1c',
    measure: 'HbA1c (%) change from baseline, central laboratory',
    timeFrame: 'Baseline and week 24',
  },
  {
    outcomeId: 'weight-24w',
    kind: 'secondary' as const,
    title: 'Change in body weight',
    measure: 'Body weight (kg) change from baseline',
    timeFrame: 'Baseline and week 24',
  },
];

export const TrialActivatedV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.TrialActivated',
  version: 1,
  description:
    'A registered trial was activated: its registration, protocol and analysis-plan hashes and its pre-specified outcomes are anchored. Enrolment is refused until the ledger has sealed this event.',
  schema: z.object({ ...protocolVersionFields, activatedAt: At('activation') }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    protocolId: 'MDL-DM2-001',
    protocolVersion: 1,
    registrationHash: 'oPcgCoOEYTdUC/5Q26fiwrQIDjLyAEpWxtbxWEcW/GY=',
    protocolDocumentHash: 'OvVvG8BduVccQ4n0Syozj5Zj7/akOuPCBXgyFLTzbc4=',
    analysisPlanHash: '9l0H2ESURc/TDWWlzycmpUrCQPA2MaugaCY5pQcG45c=',
    outcomes: outcomeExample,
    outcomesHash: 'PEakf63LscmK02b7CgmrtmHJw9XPrymczAcBt4dD8Qo=',
    activatedAt: '2026-12-01T09:00:00.000Z',
  },
});

export const ProtocolAmendedV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.ProtocolAmended',
  version: 1,
  description:
    "A new protocol version was anchored with its own hashes and outcome list, and its diff from the previous version (outcomes added, removed, changed; whether the primary outcome changed, and whether before or after the first enrolment). If it requires re-consent, no visit is recorded for a participant until they consent to the new version's form.",
  schema: z.object({
    ...protocolVersionFields,
    previousVersion: z.number().int().min(1).describe('the version it amends'),
    diff: z
      .object({
        added: z.array(TrialCode).describe('outcome ids new in this version'),
        removed: z.array(TrialCode).describe('outcome ids dropped'),
        changed: z.array(TrialCode).describe('outcome ids whose kind, title, measure or time frame changed'),
        primaryChanged: z.boolean().describe('whether the set of primary outcomes changed'),
        afterFirstEnrolment: z.boolean().describe('whether this amendment came after the first enrolment'),
      })
      .describe('what changed in the outcome list'),
    reconsentRequired: z.boolean().describe('participants must consent again before further visits'),
    amendedAt: At('amendment'),
  }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    protocolId: 'MDL-DM2-001',
    protocolVersion: 2,
    previousVersion: 1,
    registrationHash: 'oPcgCoOEYTdUC/5Q26fiwrQIDjLyAEpWxtbxWEcW/GY=',
    protocolDocumentHash: 'i2OgxsCiOowtj7JSYkdYr7mAeeJvgwBxHZWnJibbTLo=',
    analysisPlanHash: '9l0H2ESURc/TDWWlzycmpUrCQPA2MaugaCY5pQcG45c=',
    outcomes: outcomeExample,
    outcomesHash: 'PEakf63LscmK02b7CgmrtmHJw9XPrymczAcBt4dD8Qo=',
    diff: { added: [], removed: [], changed: [], primaryChanged: false, afterFirstEnrolment: true },
    reconsentRequired: true,
    amendedAt: '2026-12-15T09:00:00.000Z',
  },
});

const scheduleExample = {
  scheduleId: 'dm2-pay',
  version: 1,
  currency: 'EUR',
  visits: [
    { visitId: 'V1', amount: 5000 },
    { visitId: 'V2', amount: 5000 },
  ],
  milestones: [],
  onWithdrawal: { bonus: 'pro-rata' },
};

export const ConsentFormPublishedV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.ConsentFormPublished',
  version: 1,
  description:
    'A version of the consent form was published for a protocol version, with its payment schedule in clear (the compensation contract participants consent to) and both hashes. A published schedule never changes: a new one is a new form version.',
  schema: z.object({
    trialId: TrialId,
    formVersion: z.number().int().min(1).describe('version of the consent form'),
    protocolVersion: z.number().int().min(1).describe('the protocol version it belongs to'),
    documentHash: Sha256('the consent form document'),
    schedule: z.record(z.string(), z.unknown()).describe('the payment schedule (libs/compensation PaymentSchedule)'),
    scheduleHash: Sha256('the RFC 8785 JSON of the schedule'),
    publishedAt: At('publication'),
  }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    formVersion: 1,
    protocolVersion: 1,
    documentHash: 'aKFDuBRxP4iq7RHHIbd0pC660e9Zsoki6TGNAhXHdhQ=',
    schedule: scheduleExample,
    scheduleHash: '6J90VzTZ5vMmAsDYOrV22ATV/XfgfV8xmaiYzk4FZi4=',
    publishedAt: '2026-12-01T09:05:00.000Z',
  },
});

export const AllocationCommittedV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.AllocationCommitted',
  version: 1,
  description:
    'The allocation list was committed before the first allocation: the RFC 6962 root over salted allocations, the hash of the scheme and of the secret seed. Any allocation can be proven against it; the seed is revealed at unblinding.',
  schema: z.object({
    trialId: TrialId,
    algorithm: z.literal('permuted-blocks-v1').describe('how the list is generated from the seed'),
    root: Base64Hash.describe('RFC 6962 root over the salted allocation leaves'),
    listLength: z.number().int().min(1).describe('allocations in the list'),
    schemeHash: Sha256('the RFC 8785 JSON of the randomisation scheme'),
    seedHash: Sha256('the secret seed'),
    committedAt: At('commitment'),
  }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    algorithm: 'permuted-blocks-v1',
    root: 'VKLO917wVDATP6IbZ3fdAwtp8lE33zIdQDu9vx20W64=',
    listLength: 200,
    schemeHash: 'V+on0rtBziDLw9HKticdun9ky3k1eGdS7dTSP1CHHyg=',
    seedHash: 'Wv01SVsnhZ1BXDQ+AAlF4kbtqOw/5MqxxT+1c90xkoA=',
    committedAt: '2026-12-01T09:10:00.000Z',
  },
});

export const AllocationRevealedV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.AllocationRevealed',
  version: 1,
  description:
    'At unblinding the seed and scheme were revealed; trials regenerated the list and checked it against the commitment and every allocation made. Anyone can do the same from this event.',
  schema: z.object({
    trialId: TrialId,
    seed: Base64Hash.describe('the 32-byte seed, base64'),
    scheme: z.record(z.string(), z.unknown()).describe('the randomisation scheme'),
    allocationsChecked: z.number().int().min(0).describe('allocations made and found to match the list'),
    revealedAt: At('reveal'),
  }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    seed: 'M5mHlOtBJEKOEcIairTNfgFrJO8pi5AJz5hxb7qj140=',
    scheme: {
      algorithm: 'permuted-blocks-v1',
      arms: [
        { armId: 'active', ratio: 1 },
        { armId: 'placebo', ratio: 1 },
      ],
      blockSizes: [4, 6],
      listLength: 200,
    },
    allocationsChecked: 2,
    revealedAt: '2027-06-01T09:00:00.000Z',
  },
});

export const OutcomeReportedV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.OutcomeReported',
  version: 1,
  description:
    'The first result of an outcome was recorded: a registered outcome is now reported, or an outcome that was never registered appeared (flagged: outcome switching).',
  schema: z.object({
    trialId: TrialId,
    outcomeId: TrialCode.describe('the outcome id the result names'),
    registered: z.boolean().describe('whether any protocol version registered it'),
    protocolVersion: z.number().int().min(1).describe('the current protocol version when first reported'),
    reportedAt: At('first result'),
  }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    outcomeId: 'quality-of-life',
    registered: false,
    protocolVersion: 2,
    reportedAt: '2027-01-10T10:00:00.000Z',
  },
});

const participantFields = { trialId: TrialId, participantId: ParticipantId };

export const RESEARCH_SUBJECT_STATUSES = [
  'candidate',
  'eligible',
  'ineligible',
  'on-study',
  'off-study',
  'withdrawn',
] as const;

export const ParticipantEnrolledV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.ParticipantEnrolled',
  version: 1,
  description:
    'A participant was enrolled at a site (FHIR ResearchSubject status on-study). Eligibility is committed, not shown.',
  schema: z.object({
    ...participantFields,
    site: z
      .string()
      .regex(/^Organization\/[A-Za-z0-9\-.]{1,64}$/)
      .describe('the enrolling site'),
    protocolVersion: z.number().int().min(1).describe('the protocol version at enrolment'),
    commitment: Commitment,
    enrolledAt: At('enrolment'),
  }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    participantId: 'P-0001',
    site: 'Organization/site-geneva',
    protocolVersion: 1,
    commitment: 'A0kvOmX5l6WC2R9uP9QcuMnOk63d5pnz7wgNTryN6zU=',
    enrolledAt: '2026-12-02T10:00:00.000Z',
  },
});

export const ConsentGivenV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.ConsentGiven',
  version: 1,
  description:
    "A participant consented to a consent-form version (a FHIR R4 Consent, scope research, kept in trials); the event names the form, the protocol version and the payment schedule's hash the participant agreed to.",
  schema: z.object({
    ...participantFields,
    formVersion: z.number().int().min(1).describe('the consent form version'),
    protocolVersion: z.number().int().min(1).describe('its protocol version'),
    scheduleHash: Sha256('the payment schedule of that form'),
    commitment: Commitment,
    consentedAt: At('consent'),
  }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    participantId: 'P-0001',
    formVersion: 1,
    protocolVersion: 1,
    scheduleHash: '6J90VzTZ5vMmAsDYOrV22ATV/XfgfV8xmaiYzk4FZi4=',
    commitment: 'J+woKfSD+WLqLxxMoCZ5iG2UJyQA4HSnMa8D4hPhw24=',
    consentedAt: '2026-12-02T09:50:00.000Z',
  },
});

export const ParticipantRandomisedV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.ParticipantRandomised',
  version: 1,
  description:
    'A participant took the next allocation of the committed list. The arm stays concealed: the event names the sequence and the leaf hash, which the allocation proof opens.',
  schema: z.object({
    ...participantFields,
    sequence: z.number().int().min(1).describe('place in the allocation list'),
    leafHash: Base64Hash.describe('RFC 6962 leaf hash of the salted allocation'),
    randomisedAt: At('allocation'),
  }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    participantId: 'P-0001',
    sequence: 1,
    leafHash: 'mFkcVcqNiqrg1V5m6qt5/2rPf2F1joHXk1/IKKpEiQ4=',
    randomisedAt: '2026-12-02T10:01:00.000Z',
  },
});

export const VisitRecordedV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.VisitRecorded',
  version: 1,
  description: 'A scheduled visit was completed or missed. Its date and details are committed, not shown.',
  schema: z.object({
    ...participantFields,
    visitId: TrialCode.describe('the scheduled visit'),
    outcome: z.enum(['completed', 'missed']).describe('completed or missed'),
    commitment: Commitment,
    recordedAt: At('visit record'),
  }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    participantId: 'P-0001',
    visitId: 'V1',
    outcome: 'completed',
    commitment: 'KI7aDuqlENkHNatcQtXSRlkzKAwtPJHK/h2HqRXb8tg=',
    recordedAt: '2026-12-09T10:00:00.000Z',
  },
});

export const ResultRecordedV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.ResultRecorded',
  version: 1,
  description:
    'A participant-level result was recorded. Only a commitment goes out (the outcome it belongs to is inside it; trial-level reporting is trials.OutcomeReported).',
  schema: z.object({
    ...participantFields,
    resultId: z.uuid().describe('id of the result'),
    commitment: Commitment,
    recordedAt: At('result'),
  }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    participantId: 'P-0001',
    resultId: '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b',
    commitment: 'nxBxF6INhPbQ7LG5/FcQQgX23HQR62qx1vLc2g/rM/I=',
    recordedAt: '2027-01-10T10:00:00.000Z',
  },
});

export const AdverseEventRecordedV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.AdverseEventRecorded',
  version: 1,
  description:
    'An adverse event was recorded for a participant (seriousness, expectedness and relatedness are inside the commitment).',
  schema: z.object({
    ...participantFields,
    adverseEventId: z.uuid().describe('id of the adverse event record'),
    commitment: Commitment,
    recordedAt: At('adverse event'),
  }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    participantId: 'P-0001',
    adverseEventId: '6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c',
    commitment: 'cESkM/w6bVCQHDY3AzbgPcYsDAVmUH5Pc2kqlGtAzvY=',
    recordedAt: '2027-01-11T10:00:00.000Z',
  },
});

export const ExpenseClaimedV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.ExpenseClaimed',
  version: 1,
  description:
    'A participant claimed an expense for a visit (travel, parking…), reimbursed at cost apart from payment. Its receipt details are committed.',
  schema: z.object({
    ...participantFields,
    visitId: TrialCode.describe('the visit it was incurred for'),
    category: TrialCode.describe('expense category'),
    amount: z.number().int().min(0).describe('claimed amount in minor units'),
    commitment: Commitment,
    claimedAt: At('claim'),
  }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    participantId: 'P-0001',
    visitId: 'V1',
    category: 'travel',
    amount: 1250,
    commitment: 'Gk5u6MWX74BomQVHnEVcYydBwPKKGZ9c6tbCigXfm6Y=',
    claimedAt: '2026-12-09T12:00:00.000Z',
  },
});

export const ParticipantWithdrawnV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.ParticipantWithdrawn',
  version: 1,
  description:
    'A participant withdrew (ResearchSubject status withdrawn): participation ends and what was earned is settled pro rata. The reason is committed.',
  schema: z.object({ ...participantFields, commitment: Commitment, withdrawnAt: At('withdrawal') }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    participantId: 'P-0002',
    commitment: 'sCCcbN4STfKsDg6iZwZcqqX8HnOHP7m+gtFGJXX5PS0=',
    withdrawnAt: '2027-01-20T10:00:00.000Z',
  },
});

export const ParticipantCompletedV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.ParticipantCompleted',
  version: 1,
  description: 'A participant completed the study (ResearchSubject status off-study); the completion bonus accrues.',
  schema: z.object({ ...participantFields, commitment: Commitment, completedAt: At('completion') }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    participantId: 'P-0001',
    commitment: '3UTVKtrqzGfvuZ6pTFzMhS7qty6/lhg++mEIODcNR50=',
    completedAt: '2027-06-01T10:00:00.000Z',
  },
});

const paymentFields = {
  ...participantFields,
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .describe('ISO 4217'),
  scheduleHash: Sha256('the schedule version it was computed under'),
};

export const PaymentAccruedV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.PaymentAccrued',
  version: 1,
  description:
    "An amount was earned under the participant's schedule, as the compensation contract computed it from the named events. Anyone holding the participant's statement can re-run it.",
  schema: z.object({
    ...paymentFields,
    lineId: z.string().min(1).max(120).describe('visit:<id>, milestone:<id>, bonus or expense:<eventId>'),
    kind: z.enum(['visit', 'milestone', 'bonus', 'reimbursement']).describe('what earned it'),
    amount: z.number().int().min(0).describe('minor units'),
    sourceEventIds: z.array(z.uuid()).min(1).describe('the events it was computed from'),
    accruedAt: At('accrual'),
  }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    participantId: 'P-0001',
    currency: 'EUR',
    scheduleHash: '6J90VzTZ5vMmAsDYOrV22ATV/XfgfV8xmaiYzk4FZi4=',
    lineId: 'visit:V1',
    kind: 'visit',
    amount: 5000,
    sourceEventIds: ['7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d'],
    accruedAt: '2026-12-09T10:00:00.000Z',
  },
});

export const PaymentDueV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.PaymentDue',
  version: 1,
  description:
    'What accrued since the last settlement fell due (at a payment-point visit, at withdrawal or at completion), payment and reimbursement apart.',
  schema: z.object({
    ...paymentFields,
    dueId: z
      .string()
      .regex(/^due:[1-9]\d*$/)
      .describe('due:<n>, in order'),
    amount: z.number().int().min(0).describe('payment, minor units'),
    reimbursement: z.number().int().min(0).describe('reimbursement, minor units'),
    lineIds: z.array(z.string()).min(1).describe('the accrual lines it settles'),
    triggerEventId: z.uuid().describe('the event that made it due'),
    dueAt: At('settlement'),
  }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    participantId: 'P-0001',
    currency: 'EUR',
    scheduleHash: '6J90VzTZ5vMmAsDYOrV22ATV/XfgfV8xmaiYzk4FZi4=',
    dueId: 'due:1',
    amount: 5000,
    reimbursement: 0,
    lineIds: ['visit:V1'],
    triggerEventId: '7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d',
    dueAt: '2026-12-09T10:00:00.000Z',
  },
});

export const PaymentIssuedV1 = defineEvent({
  ...trialsEvent,
  type: 'trials.PaymentIssued',
  version: 1,
  description: 'The sponsor paid a due amount, exactly; the payment reference is committed.',
  schema: z.object({
    ...paymentFields,
    dueId: z
      .string()
      .regex(/^due:[1-9]\d*$/)
      .describe('the due amount paid'),
    amount: z.number().int().min(0).describe('payment, minor units'),
    reimbursement: z.number().int().min(0).describe('reimbursement, minor units'),
    commitment: Commitment,
    issuedAt: At('payment'),
  }),
  example: {
    trialId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    participantId: 'P-0001',
    currency: 'EUR',
    scheduleHash: '6J90VzTZ5vMmAsDYOrV22ATV/XfgfV8xmaiYzk4FZi4=',
    dueId: 'due:1',
    amount: 5000,
    reimbursement: 0,
    commitment: '72JTVWYsGQzZrakoNe7b7lOpD0I9c23mS1Fb6LS1nX4=',
    issuedAt: '2026-12-10T10:00:00.000Z',
  },
});

/** Every trials event, for the catalogue. */
export const TRIALS_EVENTS = [
  TrialActivatedV1,
  ProtocolAmendedV1,
  ConsentFormPublishedV1,
  AllocationCommittedV1,
  AllocationRevealedV1,
  OutcomeReportedV1,
  ParticipantEnrolledV1,
  ConsentGivenV1,
  ParticipantRandomisedV1,
  VisitRecordedV1,
  ResultRecordedV1,
  AdverseEventRecordedV1,
  ExpenseClaimedV1,
  ParticipantWithdrawnV1,
  ParticipantCompletedV1,
  PaymentAccruedV1,
  PaymentDueV1,
  PaymentIssuedV1,
] as const;

import type { PaymentSchedule } from '@medledger/compensation';
import {
  diffOutcomes,
  hexToBase64,
  jsonHash,
  type Outcome,
  type OutcomeDiff,
  type Registration,
} from '../../registration/domain/registration';

/**
 * One clinical trial as an aggregate (pure: no Nest, SQL or Kafka). Its events hold trial-level facts only:
 * the registration, protocol versions, consent forms with their payment schedules, the allocation commitment and
 * its secret seed, which participant took which allocation, and which outcomes were reported. FHIR ResearchStudy
 * statuses: draft → `in-review`, active → `active`.
 */

export const TrialErrorCode = {
  NOT_FOUND: 'TRIALS.TRIAL_NOT_FOUND',
  EXISTS: 'TRIALS.TRIAL_EXISTS',
  WRONG_STATUS: 'TRIALS.WRONG_STATUS',
  VERSION_MISMATCH: 'TRIALS.VERSION_MISMATCH',
  NOT_ANCHORED: 'TRIALS.NOT_ANCHORED',
  UNKNOWN_PROTOCOL_VERSION: 'TRIALS.UNKNOWN_PROTOCOL_VERSION',
  UNKNOWN_FORM: 'TRIALS.UNKNOWN_CONSENT_FORM',
  SCHEDULE_LOCKED: 'TRIALS.SCHEDULE_LOCKED',
  ALLOCATION_EXISTS: 'TRIALS.ALLOCATION_EXISTS',
  NO_ALLOCATION: 'TRIALS.NO_ALLOCATION',
  ALLOCATION_EXHAUSTED: 'TRIALS.ALLOCATION_EXHAUSTED',
  NOT_RANDOMISED_TRIAL: 'TRIALS.NOT_RANDOMISED_TRIAL',
  ALREADY_REVEALED: 'TRIALS.ALREADY_REVEALED',
  NOT_A_SITE: 'TRIALS.NOT_A_SITE',
} as const;
export type TrialErrorCode = (typeof TrialErrorCode)[keyof typeof TrialErrorCode];
export interface TrialError {
  code: TrialErrorCode;
  message: string;
}

export interface ProtocolVersion {
  version: number;
  registrationHash: string;
  protocolDocumentHash: string;
  analysisPlanHash: string;
  outcomes: Outcome[];
  outcomesHash: string;
  reconsentRequired: boolean;
  diff?: OutcomeDiff & { afterFirstEnrolment: boolean };
  /** The event that anchored it (its ledger receipt proves the outcome list). */
  eventId: string;
  at: string;
}

export interface ConsentForm {
  formVersion: number;
  protocolVersion: number;
  documentHash: string;
  schedule: PaymentSchedule;
  scheduleHash: string;
  eventId: string;
  at: string;
}

export interface AllocationState {
  seed: string;
  scheme: Record<string, unknown>;
  root: string;
  listLength: number;
  taken: number;
  eventId: string;
  revealed?: { eventId: string; at: string };
}

export interface ReportedOutcome {
  outcomeId: string;
  registered: boolean;
  protocolVersion: number;
  eventId: string;
  at: string;
}

export type TrialState =
  | { status: 'absent' }
  | {
      status: 'draft' | 'active';
      trialId: string;
      sponsor: string;
      registration: Registration;
      registeredAt: string;
      versions: ProtocolVersion[];
      forms: ConsentForm[];
      allocation?: AllocationState;
      enrolled: number;
      firstEnrolmentAt?: string;
      reported: ReportedOutcome[];
    };
export type PresentTrial = Exclude<TrialState, { status: 'absent' }>;
export const NO_TRIAL: TrialState = { status: 'absent' };

/** The trial's internal events. Those with a public counterpart share its name (`trials.<type>`) and event id. */
export type TrialEvent =
  | { type: 'TrialRegistered'; data: { trialId: string; sponsor: string; registration: Registration; at: string } }
  | {
      type: 'TrialActivated';
      data: Omit<ProtocolVersion, 'eventId' | 'diff'> & { trialId: string; protocolId: string };
    }
  | { type: 'ProtocolAmended'; data: Omit<ProtocolVersion, 'eventId'> & { trialId: string; protocolId: string } }
  | { type: 'ConsentFormPublished'; data: Omit<ConsentForm, 'eventId'> & { trialId: string } }
  | {
      type: 'AllocationCommitted';
      data: {
        trialId: string;
        seed: string;
        scheme: Record<string, unknown>;
        root: string;
        listLength: number;
        schemeHash: string;
        seedHash: string;
        at: string;
      };
    }
  | { type: 'AllocationTaken'; data: { participantId: string; sequence: number; at: string } }
  | {
      type: 'AllocationRevealed';
      data: { trialId: string; seed: string; scheme: Record<string, unknown>; allocationsChecked: number; at: string };
    }
  | { type: 'ParticipantJoined'; data: { participantId: string; at: string } }
  | {
      type: 'OutcomeReported';
      data: { trialId: string; outcomeId: string; registered: boolean; protocolVersion: number; at: string };
    };

export type TrialCommand =
  | { kind: 'Register'; trialId: string; sponsor: string; registration: Registration }
  | { kind: 'Activate'; ifMatch?: number }
  | {
      kind: 'Amend';
      ifMatch?: number;
      protocolDocumentSha256: string;
      analysisPlanSha256: string;
      outcomes: Outcome[];
      reconsentRequired: boolean;
    }
  | {
      kind: 'PublishConsentForm';
      ifMatch?: number;
      documentSha256: string;
      schedule: PaymentSchedule;
      scheduleHash: string;
      protocolVersion?: number;
    }
  | {
      kind: 'CommitAllocation';
      seed: string;
      scheme: Record<string, unknown>;
      root: string;
      listLength: number;
      schemeHash: string;
      seedHash: string;
    }
  | { kind: 'TakeAllocation'; participantId: string }
  | { kind: 'Reveal'; allocationsChecked: number }
  | { kind: 'Join'; participantId: string }
  | { kind: 'ReportOutcome'; outcomeId: string };

/** What a trial decision may need besides its state (read by the service; the domain stays pure). */
export interface TrialContext {
  now: string;
  /** Whether the ledger has sealed the event with this id (TRIALS.NOT_ANCHORED otherwise). */
  anchored(eventId: string): boolean;
}

const err = (code: TrialErrorCode, message: string): TrialError => ({ code, message });

export function currentVersion(trial: PresentTrial): ProtocolVersion | undefined {
  return trial.versions.at(-1);
}

/** Every outcome any protocol version registered. */
export function everRegistered(trial: PresentTrial): Set<string> {
  return new Set(trial.versions.flatMap((version) => version.outcomes.map((outcome) => outcome.outcomeId)));
}

/** The registration hash of a version: the registration with that version's documents and outcomes. */
function registrationOf(registration: Registration, change: Partial<Registration>): string {
  return jsonHash({ ...registration, ...change });
}

export function decideTrial(
  command: TrialCommand,
  state: TrialState,
  context: TrialContext,
): TrialEvent[] | TrialError {
  const at = context.now;
  if (command.kind === 'Register') {
    if (state.status !== 'absent') return err(TrialErrorCode.EXISTS, `trial ${command.trialId} exists`);
    return [
      {
        type: 'TrialRegistered',
        data: { trialId: command.trialId, sponsor: command.sponsor, registration: command.registration, at },
      },
    ];
  }
  if (state.status === 'absent') return err(TrialErrorCode.NOT_FOUND, 'no such trial');
  const { trialId } = state;
  const requireActive = (): TrialError | undefined =>
    state.status === 'active'
      ? undefined
      : err(TrialErrorCode.WRONG_STATUS, `the trial is ${state.status}, not active`);
  const anchoredActivation = (): TrialError | undefined => {
    const first = state.versions[0];
    if (!first || !context.anchored(first.eventId))
      return err(
        TrialErrorCode.NOT_ANCHORED,
        "the ledger has not sealed the trial's activation yet (registration, documents and outcomes)",
      );
    return undefined;
  };

  switch (command.kind) {
    case 'Activate': {
      if (state.status !== 'draft') return err(TrialErrorCode.WRONG_STATUS, `the trial is ${state.status}, not draft`);
      const r = state.registration;
      return [
        {
          type: 'TrialActivated',
          data: {
            trialId,
            protocolId: r.protocolId,
            version: 1,
            registrationHash: jsonHash(r),
            protocolDocumentHash: hexToBase64(r.protocolDocumentSha256),
            analysisPlanHash: hexToBase64(r.analysisPlanSha256),
            outcomes: r.outcomes,
            outcomesHash: jsonHash(r.outcomes),
            reconsentRequired: false,
            at,
          },
        },
      ];
    }
    case 'Amend': {
      const inactive = requireActive();
      if (inactive) return inactive;
      const previous = currentVersion(state) as ProtocolVersion;
      const registrationHash = registrationOf(state.registration, {
        outcomes: command.outcomes,
        protocolDocumentSha256: command.protocolDocumentSha256,
        analysisPlanSha256: command.analysisPlanSha256,
      });
      return [
        {
          type: 'ProtocolAmended',
          data: {
            trialId,
            protocolId: state.registration.protocolId,
            version: previous.version + 1,
            registrationHash,
            protocolDocumentHash: hexToBase64(command.protocolDocumentSha256),
            analysisPlanHash: hexToBase64(command.analysisPlanSha256),
            outcomes: command.outcomes,
            outcomesHash: jsonHash(command.outcomes),
            reconsentRequired: command.reconsentRequired,
            diff: { ...diffOutcomes(previous.outcomes, command.outcomes), afterFirstEnrolment: state.enrolled > 0 },
            at,
          },
        },
      ];
    }
    case 'PublishConsentForm': {
      const inactive = requireActive();
      if (inactive) return inactive;
      const protocolVersion = command.protocolVersion ?? (currentVersion(state) as ProtocolVersion).version;
      if (!state.versions.some((version) => version.version === protocolVersion))
        return err(TrialErrorCode.UNKNOWN_PROTOCOL_VERSION, `no protocol version ${protocolVersion}`);
      return [
        {
          type: 'ConsentFormPublished',
          data: {
            trialId,
            formVersion: state.forms.length + 1,
            protocolVersion,
            documentHash: hexToBase64(command.documentSha256),
            schedule: command.schedule,
            scheduleHash: command.scheduleHash,
            at,
          },
        },
      ];
    }
    case 'CommitAllocation': {
      const inactive = requireActive();
      if (inactive) return inactive;
      if (state.registration.design.allocation !== 'randomized')
        return err(TrialErrorCode.NOT_RANDOMISED_TRIAL, 'the registered design is not randomised');
      if (state.allocation) return err(TrialErrorCode.ALLOCATION_EXISTS, 'the allocation list is committed already');
      const { seed, scheme, root, listLength, schemeHash, seedHash } = command;
      return [
        { type: 'AllocationCommitted', data: { trialId, seed, scheme, root, listLength, schemeHash, seedHash, at } },
      ];
    }
    case 'TakeAllocation': {
      const inactive = requireActive() ?? anchoredActivation();
      if (inactive) return inactive;
      const allocation = state.allocation;
      if (!allocation) return err(TrialErrorCode.NO_ALLOCATION, 'no allocation list is committed');
      if (!context.anchored(allocation.eventId))
        return err(TrialErrorCode.NOT_ANCHORED, 'the ledger has not sealed the allocation commitment yet');
      if (allocation.revealed) return err(TrialErrorCode.ALREADY_REVEALED, 'the trial is unblinded');
      if (allocation.taken >= allocation.listLength)
        return err(TrialErrorCode.ALLOCATION_EXHAUSTED, `all ${allocation.listLength} allocations are taken`);
      return [
        { type: 'AllocationTaken', data: { participantId: command.participantId, sequence: allocation.taken + 1, at } },
      ];
    }
    case 'Reveal': {
      if (!state.allocation) return err(TrialErrorCode.NO_ALLOCATION, 'no allocation list is committed');
      if (state.allocation.revealed)
        return err(TrialErrorCode.ALREADY_REVEALED, 'the allocation list is revealed already');
      const { seed, scheme } = state.allocation;
      return [
        {
          type: 'AllocationRevealed',
          data: { trialId, seed, scheme, allocationsChecked: command.allocationsChecked, at },
        },
      ];
    }
    case 'Join': {
      const inactive = requireActive() ?? anchoredActivation();
      if (inactive) return inactive;
      return [{ type: 'ParticipantJoined', data: { participantId: command.participantId, at } }];
    }
    case 'ReportOutcome': {
      if (state.reported.some((outcome) => outcome.outcomeId === command.outcomeId)) return [];
      const version = currentVersion(state);
      return [
        {
          type: 'OutcomeReported',
          data: {
            trialId,
            outcomeId: command.outcomeId,
            registered: everRegistered(state).has(command.outcomeId),
            protocolVersion: version?.version ?? 1,
            at,
          },
        },
      ];
    }
  }
}

/** `ifMatch` against the trial stream's version (TRIALS.VERSION_MISMATCH, 412). */
export function checkIfMatch(command: TrialCommand, streamVersion: number): TrialError | undefined {
  if (!('ifMatch' in command) || command.ifMatch === undefined || command.ifMatch === streamVersion) return undefined;
  return err(
    TrialErrorCode.VERSION_MISMATCH,
    `If-Match names version ${command.ifMatch}, the trial is at version ${streamVersion}`,
  );
}

export function evolveTrial(state: TrialState, event: TrialEvent & { eventId: string }): TrialState {
  if (event.type === 'TrialRegistered') {
    const { trialId, sponsor, registration, at } = event.data;
    return {
      status: 'draft',
      trialId,
      sponsor,
      registration,
      registeredAt: at,
      versions: [],
      forms: [],
      enrolled: 0,
      reported: [],
    };
  }
  if (state.status === 'absent') return state;
  switch (event.type) {
    case 'TrialActivated':
      return { ...state, status: 'active', versions: [{ ...versionOf(event.data), eventId: event.eventId }] };
    case 'ProtocolAmended':
      return {
        ...state,
        versions: [...state.versions, { ...versionOf(event.data), diff: event.data.diff, eventId: event.eventId }],
      };
    case 'ConsentFormPublished': {
      const { trialId: _t, ...form } = event.data;
      return { ...state, forms: [...state.forms, { ...form, eventId: event.eventId }] };
    }
    case 'AllocationCommitted': {
      const { seed, scheme, root, listLength } = event.data;
      return { ...state, allocation: { seed, scheme, root, listLength, taken: 0, eventId: event.eventId } };
    }
    case 'AllocationTaken':
      return state.allocation ? { ...state, allocation: { ...state.allocation, taken: event.data.sequence } } : state;
    case 'AllocationRevealed':
      return state.allocation
        ? { ...state, allocation: { ...state.allocation, revealed: { eventId: event.eventId, at: event.data.at } } }
        : state;
    case 'ParticipantJoined':
      return { ...state, enrolled: state.enrolled + 1, firstEnrolmentAt: state.firstEnrolmentAt ?? event.data.at };
    case 'OutcomeReported': {
      const { outcomeId, registered, protocolVersion, at } = event.data;
      return {
        ...state,
        reported: [...state.reported, { outcomeId, registered, protocolVersion, eventId: event.eventId, at }],
      };
    }
  }
}

/** A protocol version as the trial keeps it: the event's data without the trial's own ids. */
function versionOf<D extends { trialId: string; protocolId: string }>(data: D): Omit<D, 'trialId' | 'protocolId'> {
  const { trialId: _trial, protocolId: _protocol, ...version } = data;
  return version;
}

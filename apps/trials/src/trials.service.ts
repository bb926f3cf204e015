import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { recordCommitment, COMMITMENT_SALT_BYTES, fairnessReport, parseSchedule } from '@medledger/compensation';
import {
  EVENT_STORE,
  EVENT_STORE_SQL,
  EventStore,
  ReceiptService,
  type SealedAt,
  type Sql,
  type StoredEvent,
  type TransactionalSql,
} from '@medledger/event-store';
import { leafHash, toBase64 } from '@medledger/ledger-core';
import { ProblemException, type AuthenticatedActor } from '@medledger/platform';
import {
  decideParticipant,
  evolveParticipant,
  NO_PARTICIPANT,
  ParticipantErrorCode,
  type IdentifiedEvent,
  type ParticipantCommand,
  type ParticipantState,
  type PresentParticipant,
} from './participants/domain/participant';
import { Registration } from './registration/domain/registration';
import {
  checkIfMatch,
  decideTrial,
  evolveTrial,
  NO_TRIAL,
  TrialErrorCode,
  type PresentTrial,
  type TrialCommand,
  type TrialEvent,
  type TrialState,
} from './trial/domain/trial';
import { toPublicEvent } from './infra/public-events';
import {
  allocationLeafData,
  allocationSalt,
  generateAllocationList,
  type RandomisationScheme,
} from './randomisation/domain/randomisation';

/** HTTP status of each domain refusal; every one is problem+json with its stable code, never a 5xx. */
const STATUS: Record<string, number> = {
  [TrialErrorCode.NOT_FOUND]: 404,
  [TrialErrorCode.EXISTS]: 409,
  [TrialErrorCode.WRONG_STATUS]: 409,
  [TrialErrorCode.VERSION_MISMATCH]: 412,
  [TrialErrorCode.NOT_ANCHORED]: 409,
  [TrialErrorCode.UNKNOWN_PROTOCOL_VERSION]: 422,
  [TrialErrorCode.UNKNOWN_FORM]: 422,
  [TrialErrorCode.SCHEDULE_LOCKED]: 409,
  [TrialErrorCode.ALLOCATION_EXISTS]: 409,
  [TrialErrorCode.NO_ALLOCATION]: 409,
  [TrialErrorCode.ALLOCATION_EXHAUSTED]: 409,
  [TrialErrorCode.NOT_RANDOMISED_TRIAL]: 409,
  [TrialErrorCode.ALREADY_REVEALED]: 409,
  [TrialErrorCode.NOT_A_SITE]: 403,
  [ParticipantErrorCode.NOT_FOUND]: 404,
  [ParticipantErrorCode.EXISTS]: 409,
  [ParticipantErrorCode.NOT_ELIGIBLE]: 409,
  [ParticipantErrorCode.NO_CONSENT]: 409,
  [ParticipantErrorCode.RECONSENT_REQUIRED]: 409,
  [ParticipantErrorCode.UNKNOWN_VISIT]: 422,
  [ParticipantErrorCode.VISIT_RECORDED]: 409,
  [ParticipantErrorCode.ALREADY_RANDOMISED]: 409,
  [ParticipantErrorCode.UNKNOWN_DUE]: 404,
  [ParticipantErrorCode.ALREADY_PAID]: 409,
  [ParticipantErrorCode.WRONG_SITE]: 403,
};

/** Trials kept folded in memory at most (a few kB each). */
const TRIAL_CACHE_MAX = 1_000;
/** Commands that also append to the trial's stream (enrolment count, allocation numbers, outcomes reported). */
const TWO_STREAM_COMMANDS = new Set<ParticipantCommand['kind']>(['Screen', 'Enrol', 'Randomise', 'RecordResult']);
/** Participants kept folded in memory at most (a few kB each; the least recently changed go first). */
const PARTICIPANT_CACHE_MAX = 20_000;

export const TrialsErrorCode = {
  INVALID_REQUEST: 'TRIALS.INVALID_REQUEST',
  FORBIDDEN: 'TRIALS.FORBIDDEN',
  IDEMPOTENCY_KEY_REUSED: 'TRIALS.IDEMPOTENCY_KEY_REUSED',
} as const;

function refuse(error: { code: string; message: string }): never {
  throw new ProblemException(STATUS[error.code] ?? 409, error.code, error.message.split(':')[0] ?? error.code, {
    detail: error.message,
  });
}

export function invalid(detail: string, issues?: Array<{ path: string; message: string }>): never {
  throw new ProblemException(400, TrialsErrorCode.INVALID_REQUEST, 'Invalid request', {
    detail,
    ...(issues && { issues }),
  });
}

export const trialStream = (trialId: string) => `Trial-${trialId}`;
export const participantStream = (trialId: string, participantId: string) =>
  `Trial-${trialId}/Participant-${participantId}`;

/**
 * Who did it, kept in each event's metadata (internal, never in the public event): 21 CFR 11.10(e) asks the audit
 * trail for the operator of every entry, not only its time. The token's subject, role and organization.
 */
export interface Operator {
  actor: string;
  role: string;
  org?: string;
}

export function operatorOf(actor: AuthenticatedActor): Operator {
  return { actor: actor.reference, role: actor.role, ...(actor.organization ? { org: actor.organization } : {}) };
}

const by = <E extends object>(events: readonly E[], operator: Operator) =>
  events.map((event) => ({ ...event, metadata: { operator } }));

function foldTrial(state: TrialState, event: StoredEvent): TrialState {
  return evolveTrial(state, { ...(event as unknown as TrialEvent), eventId: event.eventId });
}
function foldParticipant(state: ParticipantState, event: StoredEvent): ParticipantState {
  return evolveParticipant(state, { ...(event as unknown as IdentifiedEvent), eventId: event.eventId });
}

const commit = <R extends Record<string, unknown>>(record: R) => {
  const salt = randomBytes(COMMITMENT_SALT_BYTES);
  return { record, salt: salt.toString('base64'), commitment: recordCommitment(record, salt) };
};

/** One page of a trial's audit trail ({@link TrialsService.auditTrail}). */
export interface AuditTrail {
  trialId: string;
  total: number;
  offset: number;
  entries: Array<{
    eventId: string;
    /** null for an entry of the trial's own stream. */
    participantId: string | null;
    version: number;
    type: string;
    recordedAt: string;
    operator: Operator | null;
    sealed: SealedAt | null;
  }>;
}

/** The result of a command: the events it appended and the stream's new version. */
export interface CommandResult {
  events: Array<{ eventId: string; type: string }>;
  version: number;
}

/**
 * The trials commands: each loads the aggregate(s), decides with the pure domain, and appends with the public
 * events in one transaction. Idempotent per client key: a repeated `Idempotency-Key` answers the first result.
 */
@Injectable()
export class TrialsService {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore<Sql>,
    @Inject(EVENT_STORE_SQL) readonly client: TransactionalSql,
    private readonly receipts: ReceiptService,
  ) {}

  /** Runs `work` once per (actor, key): a replay answers what the first run answered. */
  async once<R>(
    actor: AuthenticatedActor,
    key: string | undefined,
    request: unknown,
    work: (tx: Sql) => Promise<R>,
  ): Promise<R> {
    if (key === undefined) return this.store.transact(this.client, work);
    if (!/^[A-Za-z0-9._:-]{8,128}$/.test(key)) invalid('Idempotency-Key must be 8 to 128 of A-Z a-z 0-9 . _ : -');
    const fingerprint = createHash('sha256').update(JSON.stringify(request)).digest('base64');
    const replay = async (): Promise<R | undefined> => {
      const [row] = await this.client.$queryRawUnsafe<Array<{ fingerprint: string; response: R }>>(
        'SELECT fingerprint, response FROM idempotency_key WHERE actor = $1 AND key = $2',
        actor.reference,
        key,
      );
      if (!row) return undefined;
      if (row.fingerprint !== fingerprint)
        throw new ProblemException(422, TrialsErrorCode.IDEMPOTENCY_KEY_REUSED, 'Idempotency-Key reused', {
          detail: 'this key was used for a different request',
        });
      return row.response;
    };
    const first = await replay();
    if (first !== undefined) return first;
    try {
      return await this.store.transact(this.client, async (tx) => {
        const result = await work(tx);
        const inserted = await tx.$executeRawUnsafe(
          `INSERT INTO idempotency_key (actor, key, fingerprint, response, created_at)
           VALUES ($1, $2, $3, $4::jsonb, now()) ON CONFLICT DO NOTHING`,
          actor.reference,
          key,
          fingerprint,
          JSON.stringify(result),
        );
        if (inserted !== 1) throw new ConcurrentReplay();
        return result;
      });
    } catch (error) {
      if (!(error instanceof ConcurrentReplay)) throw error;
      return (await replay()) as R;
    }
  }

  /**
   * Folded trials, by id: a trial stream grows with every enrolment, and every visit reads the trial, so each load
   * folds only the events after the cached version (one query that returns nothing when the trial has not moved).
   * A cached state is only a starting point: appends still expect the stream's version (optimistic concurrency).
   * Measured with bench:trials (docs/perf.md).
   */
  private readonly trialCache = new Map<string, { state: TrialState; version: number }>();

  async loadTrial(sql: Sql, trialId: string): Promise<{ state: TrialState; version: number }> {
    const cached = this.trialCache.get(trialId) ?? { state: NO_TRIAL, version: 0 };
    const loaded = await this.store.aggregateFrom(sql, trialStream(trialId), cached, foldTrial);
    if (loaded.version > cached.version) {
      if (this.trialCache.size >= TRIAL_CACHE_MAX)
        this.trialCache.delete(this.trialCache.keys().next().value as string);
      this.trialCache.set(trialId, loaded);
    }
    return loaded;
  }

  async requireTrial(sql: Sql, trialId: string): Promise<{ trial: PresentTrial; version: number }> {
    const { state, version } = await this.loadTrial(sql, trialId);
    if (state.status === 'absent') refuse({ code: TrialErrorCode.NOT_FOUND, message: `no trial ${trialId}` });
    return { trial: state, version };
  }

  /** Folded participants, as {@link loadTrial} keeps trials: a visit reads only the events since the last one. */
  private readonly participantCache = new Map<string, { state: ParticipantState; version: number }>();

  async loadParticipant(
    sql: Sql,
    trialId: string,
    participantId: string,
  ): Promise<{ state: ParticipantState; version: number }> {
    const streamId = participantStream(trialId, participantId);
    const cached = this.participantCache.get(streamId) ?? { state: NO_PARTICIPANT, version: 0 };
    const loaded = await this.store.aggregateFrom(sql, streamId, cached, foldParticipant);
    if (loaded.version > cached.version) {
      this.participantCache.delete(streamId);
      if (this.participantCache.size >= PARTICIPANT_CACHE_MAX)
        this.participantCache.delete(this.participantCache.keys().next().value as string);
      this.participantCache.set(streamId, loaded);
    }
    return loaded;
  }

  /** Which of these events the ledger has sealed (their receipts arrived). */
  async anchored(sql: Sql, eventIds: readonly string[]): Promise<Set<string>> {
    return new Set((await this.receipts.sealedAt(eventIds, sql)).keys());
  }

  private async anchorsOf(sql: Sql, trial: PresentTrial): Promise<Set<string>> {
    const ids = [trial.versions[0]?.eventId, trial.allocation?.eventId].filter((id): id is string => !!id);
    return this.anchored(sql, ids);
  }

  async register(actor: AuthenticatedActor, body: unknown, key?: string): Promise<CommandResult & { trialId: string }> {
    const parsed = Registration.safeParse(body);
    if (!parsed.success)
      invalid(
        'the registration does not match the schema',
        parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message })),
      );
    return this.once(actor, key, { op: 'register', body }, async (tx) => {
      const trialId = randomUUID();
      const sponsor = actor.organization ?? actor.reference;
      const result = await this.applyTrial(
        tx,
        trialId,
        { kind: 'Register', trialId, sponsor, registration: parsed.data },
        actor,
      );
      return { trialId, ...result };
    });
  }

  /** A trial command (the trial must be the caller's when they are a sponsor). */
  async trialCommand(
    actor: AuthenticatedActor,
    trialId: string,
    command: Exclude<TrialCommand, { kind: 'Register' }>,
    key?: string,
  ): Promise<CommandResult> {
    return this.once(actor, key, { op: command.kind, trialId, command }, (tx) =>
      this.applyTrial(tx, trialId, command, actor),
    );
  }

  async applyTrial(tx: Sql, trialId: string, command: TrialCommand, actor: AuthenticatedActor): Promise<CommandResult> {
    const { state, version } = await this.loadTrial(tx, trialId);
    if (state.status !== 'absent') this.assertSponsorOf(actor, state);
    const stale = checkIfMatch(command, version);
    if (stale) refuse(stale);
    const anchors = state.status === 'absent' ? new Set<string>() : await this.anchorsOf(tx, state);
    const decided = decideTrial(command, state, { now: new Date().toISOString(), anchored: (id) => anchors.has(id) });
    if (!Array.isArray(decided)) refuse(decided);
    return this.appendTrial(tx, trialId, version, decided, operatorOf(actor));
  }

  async appendTrial(
    tx: Sql,
    trialId: string,
    version: number,
    events: TrialEvent[],
    operator: Operator,
  ): Promise<CommandResult> {
    if (events.length === 0) return { events: [], version };
    const stored = await this.store.append(tx, {
      streamId: trialStream(trialId),
      streamType: 'Trial',
      expectedVersion: version,
      events: by(events, operator).map((event) => ({ ...event, eventId: randomUUID() })),
    });
    await this.store.enqueue(
      tx,
      stored.map((event) => toPublicEvent(event, trialId)).filter((message) => message !== undefined),
    );
    return { events: stored.map((e) => ({ eventId: e.eventId, type: e.type })), version: version + events.length };
  }

  assertSponsorOf(actor: AuthenticatedActor, trial: PresentTrial): void {
    if (actor.role === 'sponsor' && trial.sponsor !== (actor.organization ?? actor.reference))
      throw new ProblemException(403, TrialsErrorCode.FORBIDDEN, 'Not your trial', {
        detail: `the trial's sponsor is ${trial.sponsor}`,
      });
  }

  /**
   * A participant command. Screening, enrolment and randomisation also touch the trial stream (enrolment count,
   * the next allocation), in the same transaction.
   */
  async participantCommand(
    actor: AuthenticatedActor,
    trialId: string,
    participantId: string,
    command: ParticipantCommand,
    key?: string,
  ): Promise<CommandResult & { participantId: string }> {
    // Most commands (a visit, an expense, a withdrawal) touch the participant's stream alone: read outside a
    // transaction, then one statement appends the events and their public events if the stream has not moved
    // (docs/perf.md, trials). Those that touch the trial's stream too, or carry a client key, take a transaction.
    if (key === undefined && !TWO_STREAM_COMMANDS.has(command.kind))
      return this.participantAtOnce(actor, trialId, participantId, command);
    return this.once(actor, key, { op: command.kind, trialId, participantId, command }, async (tx) => {
      const { trial, version: trialVersion } = await this.requireTrial(tx, trialId);
      const { state, version } = await this.loadParticipant(tx, trialId, participantId);
      this.assertMayAct(actor, trial, state, command);
      const now = new Date().toISOString();
      // Only screening, enrolment and randomisation wait for an anchor: a visit spares the look-up.
      const needsAnchor = command.kind === 'Screen' || command.kind === 'Enrol' || command.kind === 'Randomise';
      const anchors = needsAnchor ? await this.anchorsOf(tx, trial) : new Set<string>();
      const context = { now, anchored: (id: string) => anchors.has(id) };

      let decision: ParticipantCommand = command;
      if (command.kind === 'Screen' || command.kind === 'Enrol') {
        // Enrolment needs the anchored activation (TRIALS.NOT_ANCHORED): screening already counts as enrolment work.
        const joined = decideTrial({ kind: 'Join', participantId }, trial, context);
        if (!Array.isArray(joined)) refuse(joined);
        if (command.kind === 'Enrol') await this.appendTrial(tx, trialId, trialVersion, joined, operatorOf(actor));
      }
      if (command.kind === 'Randomise') {
        const taken = decideTrial({ kind: 'TakeAllocation', participantId }, trial, context);
        if (!Array.isArray(taken)) refuse(taken);
        const sequence = (taken[0] as Extract<TrialEvent, { type: 'AllocationTaken' }>).data.sequence;
        const allocation = this.allocationFor(trial, sequence);
        decision = { kind: 'Randomise', sequence, armId: allocation.armId, leafHash: allocation.leafHash };
        if (state.status !== 'absent' && !state.allocation)
          await this.appendTrial(tx, trialId, trialVersion, taken, operatorOf(actor));
      }
      const decided = decideParticipant(decision, state, { now, newId: randomUUID, commit, trial });
      if (!Array.isArray(decided)) refuse(decided);
      const stored = await this.store.append(tx, {
        streamId: participantStream(trialId, participantId),
        streamType: 'Participant',
        expectedVersion: version,
        events: by(
          decided as unknown as Array<{ type: string; data: Record<string, unknown>; eventId: string }>,
          operatorOf(actor),
        ),
      });
      await this.store.enqueue(
        tx,
        stored.map((event) => toPublicEvent(event, trialId)).filter((message) => message !== undefined),
      );
      const result = decided.find((event) => event.type === 'ResultRecorded');
      if (result) {
        // A result touches the trial stream only here (never after its own appends above): `trial` is current.
        const reported = decideTrial({ kind: 'ReportOutcome', outcomeId: result.data.outcomeId }, trial, context);
        if (Array.isArray(reported)) await this.appendTrial(tx, trialId, trialVersion, reported, operatorOf(actor));
      }
      return {
        participantId,
        events: stored.map((e) => ({ eventId: e.eventId, type: e.type })),
        version: version + stored.length,
      };
    });
  }

  private async participantAtOnce(
    actor: AuthenticatedActor,
    trialId: string,
    participantId: string,
    command: ParticipantCommand,
  ): Promise<CommandResult & { participantId: string }> {
    const { trial } = await this.requireTrial(this.client, trialId);
    const { state, version } = await this.loadParticipant(this.client, trialId, participantId);
    this.assertMayAct(actor, trial, state, command);
    const decided = decideParticipant(command, state, {
      now: new Date().toISOString(),
      newId: randomUUID,
      commit,
      trial,
    });
    if (!Array.isArray(decided)) refuse(decided);
    const stored = await this.store.appendAtOnce(
      this.client,
      {
        streamId: participantStream(trialId, participantId),
        streamType: 'Participant',
        expectedVersion: version,
        events: by(
          decided as unknown as Array<{ type: string; data: Record<string, unknown>; eventId: string }>,
          operatorOf(actor),
        ),
      },
      (events) =>
        events.map((event) => toPublicEvent(event as StoredEvent, trialId)).filter((message) => message !== undefined),
    );
    return {
      participantId,
      events: stored.map((e) => ({ eventId: e.eventId, type: e.type })),
      version: version + stored.length,
    };
  }

  /** The allocation at a sequence of the trial's committed list, regenerated from its seed (never stored). */
  private allocationFor(trial: PresentTrial, sequence: number): { armId: string; leafHash: string } {
    const { seed, scheme } = allocationSecrets(trial);
    const allocation = generateAllocationList(seed, scheme)[sequence - 1];
    if (!allocation) throw new Error(`no allocation ${sequence}`);
    const salt = allocationSalt(seed, sequence);
    return { armId: allocation.armId, leafHash: toBase64(leafHash(allocationLeafData(allocation, salt))) };
  }

  /** Who may do what to a participant (the table in the app README). */
  assertMayAct(
    actor: AuthenticatedActor,
    trial: PresentTrial,
    state: ParticipantState,
    command: ParticipantCommand,
  ): void {
    const forbid = (detail: string): never => {
      throw new ProblemException(403, TrialsErrorCode.FORBIDDEN, 'Not allowed', { detail });
    };
    const self = state.status !== 'absent' && actor.reference === `Patient/${state.participantId}`;
    const atSite = (site: string) => actor.role === 'investigator' && actor.organization === site;
    const present = state.status === 'absent' ? undefined : state;
    switch (actor.role) {
      case 'participant':
        if (!self) forbid('a participant acts only on their own participation');
        if (!['Consent', 'Withdraw', 'ClaimExpense'].includes(command.kind))
          forbid(`a participant may consent, withdraw or claim expenses, not ${command.kind}`);
        return;
      case 'investigator': {
        const site = command.kind === 'Screen' ? command.site : present?.site;
        if (!site || !atSite(site))
          forbid(`an investigator acts at their own site (token org ${actor.organization ?? 'none'})`);
        if (command.kind === 'IssuePayment') forbid('payments are issued by the sponsor');
        return;
      }
      case 'sponsor':
        this.assertSponsorOf(actor, trial);
        if (command.kind !== 'IssuePayment') forbid('a sponsor issues payments; the sites record the study');
        return;
      default:
        forbid(`role ${actor.role} may not change a participant`);
    }
  }

  /** Every participant of a trial, folded (for reports). */
  async participants(sql: Sql, trialId: string): Promise<Array<{ state: PresentParticipant; events: StoredEvent[] }>> {
    const rows = await sql.$queryRawUnsafe<Array<{ stream_id: string }>>(
      `SELECT stream_id FROM es_stream WHERE stream_type = 'Participant' AND stream_id LIKE $1 ORDER BY stream_id`,
      `${trialStream(trialId)}/Participant-%`,
    );
    const streams = await this.store.loadMany(
      sql,
      rows.map((row) => row.stream_id),
    );
    return streams
      .map((stream) => ({ state: stream.events.reduce(foldParticipant, NO_PARTICIPANT), events: stream.events }))
      .filter((p): p is { state: PresentParticipant; events: StoredEvent[] } => p.state.status !== 'absent');
  }

  /**
   * The trial's audit trail (21 CFR 11.10(e)): every entry of the trial's and its participants' streams in the order
   * they were recorded, with when, what and who (the operator from each event's metadata; null for an entry written
   * before operators were recorded) and where the ledger sealed its public event. Entries are never updated in
   * place, so a change shows as a later entry and never obscures an earlier one. Paged in recorded order.
   */
  async auditTrail(trialId: string, page: { offset: number; count: number }): Promise<AuditTrail> {
    const streams = [trialStream(trialId), `${trialStream(trialId)}/Participant-%`];
    const [rows, [total]] = await Promise.all([
      this.client.$queryRawUnsafe<
        Array<{ event_id: string; stream_id: string; version: number; type: string; metadata: unknown; at: Date }>
      >(
        `SELECT event_id::text, stream_id, version, type, metadata, recorded_at AS at FROM es_event
          WHERE stream_id = $1 OR stream_id LIKE $2 ORDER BY position LIMIT $3 OFFSET $4`,
        ...streams,
        page.count,
        page.offset,
      ),
      this.client.$queryRawUnsafe<Array<{ n: number }>>(
        'SELECT count(*)::int AS n FROM es_event WHERE stream_id = $1 OR stream_id LIKE $2',
        ...streams,
      ),
    ]);
    const sealed = await this.receipts.sealedAt(rows.map((row) => row.event_id));
    const prefix = `${trialStream(trialId)}/Participant-`;
    return {
      trialId,
      total: total?.n ?? 0,
      offset: page.offset,
      entries: rows.map((row) => ({
        eventId: row.event_id,
        ...(row.stream_id.startsWith(prefix)
          ? { participantId: row.stream_id.slice(prefix.length) }
          : { participantId: null }),
        version: row.version,
        type: row.type,
        recordedAt: row.at.toISOString(),
        operator: (row.metadata as { operator?: Operator } | null)?.operator ?? null,
        sealed: sealed.get(row.event_id) ?? null,
      })),
    };
  }

  async fairness(trialId: string) {
    const { trial } = await this.requireTrial(this.client, trialId);
    const participants = await this.participants(this.client, trialId);
    const schedules = new Map(trial.forms.map((form) => [form.scheduleHash, form.schedule]));
    const report = fairnessReport(
      schedules,
      participants
        .filter((p) => p.state.scheduleHash)
        .map((p) => ({
          participantId: p.state.participantId,
          scheduleHash: p.state.scheduleHash as string,
          facts: p.state.facts,
          recorded: p.state.accrued,
        })),
    );
    return { trialId, ...report };
  }

  /** The schedule a sponsor publishes, validated (TRIALS.INVALID_SCHEDULE with every issue). */
  static schedule(body: unknown) {
    const parsed = parseSchedule(body);
    if (!parsed.ok)
      throw new ProblemException(400, 'TRIALS.INVALID_SCHEDULE', 'Invalid payment schedule', {
        detail: parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; '),
        issues: parsed.issues,
      });
    return parsed;
  }
}

class ConcurrentReplay extends Error {}

/** The committed list's secret seed and scheme (TRIALS.NO_ALLOCATION when none is committed). */
export function allocationSecrets(trial: PresentTrial): { seed: Uint8Array; scheme: RandomisationScheme } {
  const allocation = trial.allocation;
  if (!allocation)
    throw new ProblemException(409, 'TRIALS.NO_ALLOCATION', 'No allocation list', { detail: 'none committed' });
  return { seed: Buffer.from(allocation.seed, 'base64'), scheme: allocation.scheme as unknown as RandomisationScheme };
}

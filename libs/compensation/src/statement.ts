import { createHash } from 'node:crypto';
import { canonicalBytes } from '@medledger/ledger-core';
import { compareLines, evaluate, type Evaluation, type LineKind, type ParticipantFact } from './evaluate';
import { parseSchedule } from './schedule';

export const STATEMENT_FORMAT = 'medledger/trials-statement/v1';

/** Bytes of salt in every participant-level commitment. */
export const COMMITMENT_SALT_BYTES = 32;

/**
 * The salted commitment of a participant-level record: base64(SHA-256(salt ‖ JCS(record))). The public event
 * carries it; the participant's statement carries the record and the salt, so they can open it and no one else can.
 */
export function recordCommitment(record: unknown, salt: Uint8Array): string {
  return createHash('sha256').update(salt).update(canonicalBytes(record)).digest('base64');
}

/**
 * The ledger's receipt of one event as `GET /v1/events/{id}/receipt` returns it (verified by the CLI against
 * pinned ledger keys, not here).
 */
export interface StatementReceipt {
  leaf: { index: number; data: string };
  block: unknown;
  checkpoint: string;
  proof: { index: number; treeSize: number; hashes: string[] };
}

/** One public event of the participant's, as committed, with what it commits to (if anything) and its receipt. */
export interface StatementEvent {
  eventId: string;
  /** The CloudEvents envelope as the service committed it (without the proof of origin). */
  envelope: { id: string; type: string; data: Record<string, unknown> } & Record<string, unknown>;
  /** The participant-level record the envelope's `data.commitment` commits to, with its salt (base64). */
  clear?: { record: Record<string, unknown>; salt: string };
  receipt?: StatementReceipt;
}

export interface Statement {
  format: typeof STATEMENT_FORMAT;
  trialId: string;
  participantId: string;
  /** The schedule version the participant consented to, as anchored with its consent form. */
  schedule: unknown;
  scheduleHash: string;
  /** Every public event of the participant's, in the order recorded. */
  events: StatementEvent[];
  /** The amounts as the service computed them. */
  evaluation: Evaluation;
}

/** Public event types whose clear records are facts the evaluator reads. */
const FACT_TYPES = {
  'trials.VisitRecorded': 'visit',
  'trials.ExpenseClaimed': 'expense',
  'trials.ParticipantWithdrawn': 'withdrawn',
  'trials.ParticipantCompleted': 'completed',
} as const;

export const StatementFinding = {
  MALFORMED: 'STATEMENT.MALFORMED',
  SCHEDULE_HASH_MISMATCH: 'STATEMENT.SCHEDULE_HASH_MISMATCH',
  COMMITMENT_MISMATCH: 'STATEMENT.COMMITMENT_MISMATCH',
  RECORD_MISSING: 'STATEMENT.RECORD_MISSING',
  AMOUNT_MISMATCH: 'STATEMENT.AMOUNT_MISMATCH',
  SOURCES_MISMATCH: 'STATEMENT.SOURCES_MISMATCH',
  DUE_MISMATCH: 'STATEMENT.DUE_MISMATCH',
} as const;
export type StatementFindingCode = (typeof StatementFinding)[keyof typeof StatementFinding];

export interface StatementIssue {
  code: StatementFindingCode;
  eventId?: string;
  message: string;
}

export interface StatementCheck {
  ok: boolean;
  issues: StatementIssue[];
  /** The amounts re-computed from the statement's records. */
  evaluation?: Evaluation;
  /** Events checked against their commitments. */
  commitmentsChecked: number;
}

/** The evaluator's facts, read from the clear records of the statement's events. */
export function factsOf(events: readonly StatementEvent[]): ParticipantFact[] {
  const facts: ParticipantFact[] = [];
  for (const event of events) {
    const kind = FACT_TYPES[event.envelope.type as keyof typeof FACT_TYPES];
    if (!kind) continue;
    const record = event.clear?.record ?? {};
    switch (kind) {
      case 'visit':
        facts.push({
          kind,
          eventId: event.eventId,
          visitId: String(record['visitId']),
          outcome: record['outcome'] === 'completed' ? 'completed' : 'missed',
        });
        break;
      case 'expense':
        facts.push({
          kind,
          eventId: event.eventId,
          visitId: String(record['visitId']),
          category: String(record['category']),
          amount: Number(record['amount']),
        });
        break;
      case 'withdrawn':
      case 'completed':
        facts.push({ kind, eventId: event.eventId });
        break;
    }
  }
  return facts;
}

/**
 * Re-executes a statement: the schedule is the one hashed, every record opens its event's commitment, and the
 * evaluator run again on those records gives exactly the amounts of the `PaymentAccrued` and `PaymentDue` events
 * the service published. Any difference is named. Receipts (that the ledger sealed each event) are checked apart,
 * against pinned ledger keys (medledger-verify statement).
 */
export function checkStatement(statement: Statement): StatementCheck {
  const issues: StatementIssue[] = [];
  if (statement?.format !== STATEMENT_FORMAT || !Array.isArray(statement.events))
    return {
      ok: false,
      issues: [{ code: StatementFinding.MALFORMED, message: `not a ${STATEMENT_FORMAT} statement` }],
      commitmentsChecked: 0,
    };
  const schedule = parseSchedule(statement.schedule);
  if (!schedule.ok)
    return {
      ok: false,
      issues: [
        {
          code: StatementFinding.MALFORMED,
          message: `the schedule is invalid: ${schedule.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        },
      ],
      commitmentsChecked: 0,
    };
  if (schedule.hash !== statement.scheduleHash)
    issues.push({
      code: StatementFinding.SCHEDULE_HASH_MISMATCH,
      message: `the schedule hashes to ${schedule.hash}, the statement says ${statement.scheduleHash}`,
    });

  let commitmentsChecked = 0;
  for (const event of statement.events) {
    const committed = event.envelope.data['commitment'];
    if (typeof committed !== 'string') continue;
    if (!event.clear) {
      issues.push({
        code: StatementFinding.RECORD_MISSING,
        eventId: event.eventId,
        message: `${event.envelope.type} ${event.eventId} commits to a record the statement does not hold`,
      });
      continue;
    }
    commitmentsChecked++;
    let opened: string;
    try {
      opened = recordCommitment(event.clear.record, Buffer.from(event.clear.salt, 'base64'));
    } catch (error) {
      opened = `(no canonical JSON: ${(error as Error).message})`;
    }
    if (opened !== committed)
      issues.push({
        code: StatementFinding.COMMITMENT_MISMATCH,
        eventId: event.eventId,
        message: `${event.envelope.type} ${event.eventId}: the record and salt give ${opened}, the event committed ${committed}`,
      });
  }

  const evaluation = evaluate(schedule.schedule, factsOf(statement.events));
  const accrued = statement.events.filter((event) => event.envelope.type === 'trials.PaymentAccrued');
  const recorded = accrued.map((event) => ({
    lineId: String(event.envelope.data['lineId']),
    kind: event.envelope.data['kind'] as LineKind,
    amount: Number(event.envelope.data['amount']),
    sourceEventIds: (event.envelope.data['sourceEventIds'] as string[] | undefined) ?? [],
    scheduleHash: event.envelope.data['scheduleHash'],
    eventId: event.eventId,
  }));
  for (const line of recorded)
    if (line.scheduleHash !== schedule.hash)
      issues.push({
        code: StatementFinding.SCHEDULE_HASH_MISMATCH,
        eventId: line.eventId,
        message: `PaymentAccrued ${line.lineId} names schedule ${String(line.scheduleHash)}, not ${schedule.hash}`,
      });
  for (const difference of compareLines(evaluation.lines, recorded))
    issues.push({
      code: StatementFinding.AMOUNT_MISMATCH,
      message:
        difference.recorded === undefined
          ? `${difference.lineId}: owed ${difference.expected} but never accrued`
          : difference.expected === undefined
            ? `${difference.lineId}: accrued ${difference.recorded} but the contract owes nothing for it`
            : `${difference.lineId}: accrued ${difference.recorded}, the contract computes ${difference.expected}`,
    });
  const byLine = new Map(recorded.map((line) => [line.lineId, line]));
  for (const line of evaluation.lines) {
    const mine = byLine.get(line.lineId);
    if (mine && mine.sourceEventIds.join(',') !== line.sourceEventIds.join(','))
      issues.push({
        code: StatementFinding.SOURCES_MISMATCH,
        eventId: mine.eventId,
        message: `${line.lineId} names events ${mine.sourceEventIds.join(', ')}, computed from ${line.sourceEventIds.join(', ')}`,
      });
  }
  const dues = statement.events.filter((event) => event.envelope.type === 'trials.PaymentDue');
  const dueById = new Map(dues.map((event) => [String(event.envelope.data['dueId']), event.envelope.data]));
  for (const due of evaluation.due) {
    const published = dueById.get(due.dueId);
    if (!published || published['amount'] !== due.amount || published['reimbursement'] !== due.reimbursement)
      issues.push({
        code: StatementFinding.DUE_MISMATCH,
        message: published
          ? `${due.dueId}: published ${String(published['amount'])} + ${String(published['reimbursement'])}, computed ${due.amount} + ${due.reimbursement}`
          : `${due.dueId}: ${due.amount} + ${due.reimbursement} falls due but was never published`,
      });
    dueById.delete(due.dueId);
  }
  for (const [dueId, data] of dueById)
    issues.push({
      code: StatementFinding.DUE_MISMATCH,
      message: `${dueId}: published ${String(data['amount'])} but the contract makes nothing due`,
    });
  return { ok: issues.length === 0, issues, evaluation, commitmentsChecked };
}

import { compareLines, evaluate, type AccrualLine, type ParticipantFact } from './evaluate';
import type { PaymentSchedule } from './schedule';

/** One participant as the fairness report sees them: their schedule version, facts, and what was recorded. */
export interface ParticipantAccount {
  participantId: string;
  scheduleHash: string;
  facts: readonly ParticipantFact[];
  /** The amounts the service recorded for them (its `PaymentAccrued` events). */
  recorded: ReadonlyArray<Pick<AccrualLine, 'lineId' | 'kind' | 'amount'>>;
}

/** Participants on one schedule version who completed the same visits. */
export interface FairnessGroup {
  scheduleHash: string;
  completedVisits: string[];
  participants: Array<{ participantId: string; owed: number; recorded: number; exit: string }>;
}

export interface FairnessDifference {
  participantId: string;
  /** Another participant of the group, or `contract` when the recorded amounts differ from what is owed. */
  comparedWith: string;
  amount: number;
  otherAmount: number;
  cause: string;
}

export interface FairnessReport {
  groups: FairnessGroup[];
  differences: FairnessDifference[];
  /** True when nobody's recorded payment differs from the contract nor, without a stated cause, from a peer's. */
  fair: boolean;
}

const payment = (lines: ReadonlyArray<Pick<AccrualLine, 'kind' | 'amount'>>) =>
  lines.filter((line) => line.kind !== 'reimbursement').reduce((sum, line) => sum + line.amount, 0);

function exitOf(facts: readonly ParticipantFact[]): string {
  const last = facts.find((fact) => fact.kind === 'withdrawn' || fact.kind === 'completed');
  return last?.kind ?? 'on-study';
}

/**
 * Participants on the same schedule version with the same visits completed are owed the same payment
 * (reimbursements apart: they follow each one's expenses). Every difference is listed with its cause: what the
 * service recorded against what the contract owes, or, between peers, the lines that differ and why (one
 * completed the study and the other withdrew).
 */
export function fairnessReport(
  schedules: ReadonlyMap<string, PaymentSchedule>,
  accounts: readonly ParticipantAccount[],
): FairnessReport {
  const groups = new Map<string, FairnessGroup>();
  const differences: FairnessDifference[] = [];
  const owedLines = new Map<string, AccrualLine[]>();

  for (const account of accounts) {
    const schedule = schedules.get(account.scheduleHash);
    if (!schedule) {
      differences.push({
        participantId: account.participantId,
        comparedWith: 'contract',
        amount: payment(account.recorded),
        otherAmount: 0,
        cause: `no schedule with hash ${account.scheduleHash}`,
      });
      continue;
    }
    const evaluation = evaluate(schedule, account.facts);
    owedLines.set(account.participantId, evaluation.lines);
    const owed = payment(evaluation.lines);
    const recorded = payment(account.recorded);
    const drift = compareLines(
      evaluation.lines.filter((line) => line.kind !== 'reimbursement'),
      account.recorded.filter((line) => line.kind !== 'reimbursement'),
    );
    if (drift.length > 0)
      differences.push({
        participantId: account.participantId,
        comparedWith: 'contract',
        amount: recorded,
        otherAmount: owed,
        cause: `recorded payments differ from the contract: ${drift
          .map((d) => `${d.lineId} recorded ${d.recorded ?? 'none'}, owed ${d.expected ?? 'none'}`)
          .join('; ')}`,
      });
    const completedVisits = account.facts
      .filter((fact) => fact.kind === 'visit' && fact.outcome === 'completed')
      .map((fact) => (fact as { visitId: string }).visitId)
      .sort();
    const key = `${account.scheduleHash}|${completedVisits.join(',')}`;
    const group = groups.get(key) ?? { scheduleHash: account.scheduleHash, completedVisits, participants: [] };
    group.participants.push({ participantId: account.participantId, owed, recorded, exit: exitOf(account.facts) });
    groups.set(key, group);
  }

  for (const group of groups.values()) {
    const [first, ...rest] = group.participants;
    if (!first) continue;
    for (const other of rest) {
      if (other.recorded === first.recorded) continue;
      const lines = compareLines(
        (owedLines.get(first.participantId) ?? []).filter((line) => line.kind !== 'reimbursement'),
        (owedLines.get(other.participantId) ?? []).filter((line) => line.kind !== 'reimbursement'),
      );
      const why =
        first.exit !== other.exit
          ? `${first.participantId} ${first.exit}, ${other.participantId} ${other.exit}`
          : 'no difference in their facts';
      differences.push({
        participantId: other.participantId,
        comparedWith: first.participantId,
        amount: other.recorded,
        otherAmount: first.recorded,
        cause: `${why}${lines.length ? ` (lines: ${lines.map((l) => l.lineId).join(', ')})` : ''}`,
      });
    }
  }

  const unexplained = differences.filter(
    (d) => d.comparedWith === 'contract' || d.cause.startsWith('no difference'),
  ).length;
  return { groups: [...groups.values()], differences, fair: unexplained === 0 };
}

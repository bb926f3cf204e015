import { bonusCap, scheduleHash, type PaymentSchedule } from './schedule';

/**
 * What the evaluator reads of a participant's history: one fact per event of the participant's own stream that
 * bears on payment, in the order they were recorded, each naming the event it comes from.
 */
export type ParticipantFact =
  | { kind: 'visit'; eventId: string; visitId: string; outcome: 'completed' | 'missed' }
  | { kind: 'expense'; eventId: string; visitId: string; category: string; amount: number }
  | { kind: 'withdrawn'; eventId: string }
  | { kind: 'completed'; eventId: string };

export type LineKind = 'visit' | 'milestone' | 'bonus' | 'reimbursement';

/** One amount earned: `visit:<id>`, `milestone:<id>`, `bonus`, or `expense:<eventId>`; ids are stable. */
export interface AccrualLine {
  lineId: string;
  kind: LineKind;
  amount: number;
  /** The events the amount was computed from. */
  sourceEventIds: string[];
}

/** What falls due at one point of the study (a payment point, withdrawal or completion). */
export interface DueLine {
  dueId: string;
  /** Payment (visits, milestones, bonus). */
  amount: number;
  /** Reimbursement of expenses, apart from payment. */
  reimbursement: number;
  lineIds: string[];
  /** The event that made it due. */
  triggerEventId: string;
}

/** A fact the evaluator did not pay for, and why (it never throws on a participant's history). */
export interface IgnoredFact {
  eventId: string;
  reason: string;
}

export interface Evaluation {
  scheduleHash: string;
  currency: string;
  lines: AccrualLine[];
  due: DueLine[];
  ignored: IgnoredFact[];
  totals: { payment: number; reimbursement: number };
}

/**
 * The compensation contract: one pure, deterministic function of the schedule version and the participant's facts
 * (no clock, no I/O, integers only), so that anyone holding the same inputs computes the same amounts.
 *
 * - A completed scheduled visit earns its amount; a missed one earns nothing. Each visit earns once.
 * - A milestone is earned when the last of its visits is completed.
 * - Completion earns the bonus (capped by {@link bonusCap}); withdrawal keeps everything earned and, under
 *   `pro-rata`, earns bonus × visits completed ÷ visits scheduled, rounded down.
 * - An expense of an allowed category, at a completed visit, is reimbursed up to the visit's remaining limit.
 * - What accrued falls due after each payment-point visit, and at withdrawal or completion; a reimbursement falls
 *   due at once. Nothing counts after withdrawal or completion.
 */
export function evaluate(schedule: PaymentSchedule, facts: readonly ParticipantFact[]): Evaluation {
  const amounts = new Map(schedule.visits.map((visit) => [visit.visitId, visit.amount]));
  const payPoints = schedule.dueAfterVisits ? new Set(schedule.dueAfterVisits) : undefined;
  const bonus = Math.min(schedule.completionBonus?.amount ?? 0, bonusCap(schedule));

  const lines: AccrualLine[] = [];
  const due: DueLine[] = [];
  const ignored: IgnoredFact[] = [];
  const visitEvents = new Map<string, string>();
  const completed = new Set<string>();
  const milestonesEarned = new Set<string>();
  const reimbursed = new Map<string, number>();
  let pending: AccrualLine[] = [];
  let exit: string | undefined;

  const accrue = (line: AccrualLine) => {
    lines.push(line);
    pending.push(line);
  };
  /** What accrued since the last settlement falls due; an expense settles its reimbursement alone, at once. */
  const settle = (triggerEventId: string, reimbursementOnly = false) => {
    const settled = pending.filter((line) => !reimbursementOnly || line.kind === 'reimbursement');
    if (settled.length === 0) return;
    const sum = (reimbursement: boolean) =>
      settled
        .filter((line) => (line.kind === 'reimbursement') === reimbursement)
        .reduce((total, line) => total + line.amount, 0);
    due.push({
      dueId: `due:${due.length + 1}`,
      amount: sum(false),
      reimbursement: sum(true),
      lineIds: settled.map((line) => line.lineId),
      triggerEventId,
    });
    pending = pending.filter((line) => !settled.includes(line));
  };

  for (const fact of facts) {
    if (exit !== undefined) {
      ignored.push({ eventId: fact.eventId, reason: `after the participant left the study (${exit})` });
      continue;
    }
    switch (fact.kind) {
      case 'visit': {
        const amount = amounts.get(fact.visitId);
        if (amount === undefined) {
          ignored.push({
            eventId: fact.eventId,
            reason: `visit ${fact.visitId} is not in schedule ${schedule.scheduleId}`,
          });
          break;
        }
        if (visitEvents.has(fact.visitId)) {
          ignored.push({ eventId: fact.eventId, reason: `visit ${fact.visitId} was recorded before` });
          break;
        }
        visitEvents.set(fact.visitId, fact.eventId);
        if (fact.outcome === 'completed') {
          completed.add(fact.visitId);
          accrue({ lineId: `visit:${fact.visitId}`, kind: 'visit', amount, sourceEventIds: [fact.eventId] });
          for (const milestone of schedule.milestones) {
            if (milestonesEarned.has(milestone.milestoneId)) continue;
            if (!milestone.afterVisits.every((visitId) => completed.has(visitId))) continue;
            milestonesEarned.add(milestone.milestoneId);
            accrue({
              lineId: `milestone:${milestone.milestoneId}`,
              kind: 'milestone',
              amount: milestone.amount,
              sourceEventIds: milestone.afterVisits.map((visitId) => visitEvents.get(visitId) as string),
            });
          }
        }
        if (!payPoints || payPoints.has(fact.visitId)) settle(fact.eventId);
        break;
      }
      case 'expense': {
        const policy = schedule.reimbursement;
        if (!policy || !policy.categories.includes(fact.category)) {
          ignored.push({ eventId: fact.eventId, reason: `expense category ${fact.category} is not reimbursed` });
          break;
        }
        if (!completed.has(fact.visitId)) {
          ignored.push({ eventId: fact.eventId, reason: `visit ${fact.visitId} was not completed` });
          break;
        }
        const used = reimbursed.get(fact.visitId) ?? 0;
        const amount = Math.max(0, Math.min(fact.amount, policy.perVisitLimit - used));
        if (amount === 0) {
          ignored.push({ eventId: fact.eventId, reason: `visit ${fact.visitId}'s reimbursement limit is reached` });
          break;
        }
        reimbursed.set(fact.visitId, used + amount);
        accrue({
          lineId: `expense:${fact.eventId}`,
          kind: 'reimbursement',
          amount,
          sourceEventIds: [visitEvents.get(fact.visitId) as string, fact.eventId],
        });
        settle(fact.eventId, true);
        break;
      }
      case 'withdrawn': {
        const share = schedule.onWithdrawal.bonus === 'pro-rata' ? proRata(bonus, completed.size, amounts.size) : 0;
        if (share > 0) accrue({ lineId: 'bonus', kind: 'bonus', amount: share, sourceEventIds: [fact.eventId] });
        exit = 'withdrawn';
        settle(fact.eventId);
        break;
      }
      case 'completed': {
        if (bonus > 0) accrue({ lineId: 'bonus', kind: 'bonus', amount: bonus, sourceEventIds: [fact.eventId] });
        exit = 'completed';
        settle(fact.eventId);
        break;
      }
    }
  }

  const total = (reimbursement: boolean) =>
    lines.filter((line) => (line.kind === 'reimbursement') === reimbursement).reduce((s, line) => s + line.amount, 0);
  return {
    scheduleHash: scheduleHash(schedule),
    currency: schedule.currency,
    lines,
    due,
    ignored,
    totals: { payment: total(false), reimbursement: total(true) },
  };
}

/** bonus × completed ÷ scheduled, rounded down: exact in integers, monotone in `completed`. */
function proRata(bonus: number, completed: number, scheduled: number): number {
  return Math.floor((bonus * completed) / scheduled);
}

/** A difference between two evaluations' lines (a re-execution against what the service recorded). */
export interface LineDifference {
  lineId: string;
  expected?: number;
  recorded?: number;
}

/** Lines whose amount differs, or that only one side has; empty when the two agree to the minor unit. */
export function compareLines(
  expected: ReadonlyArray<Pick<AccrualLine, 'lineId' | 'amount'>>,
  recorded: ReadonlyArray<Pick<AccrualLine, 'lineId' | 'amount'>>,
): LineDifference[] {
  const mine = new Map(expected.map((line) => [line.lineId, line.amount]));
  const theirs = new Map(recorded.map((line) => [line.lineId, line.amount]));
  const differences: LineDifference[] = [];
  for (const [lineId, amount] of mine)
    if (theirs.get(lineId) !== amount)
      differences.push({ lineId, expected: amount, ...(theirs.has(lineId) && { recorded: theirs.get(lineId) }) });
  for (const [lineId, amount] of theirs) if (!mine.has(lineId)) differences.push({ lineId, recorded: amount });
  return differences;
}

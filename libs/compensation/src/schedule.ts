import { createHash } from 'node:crypto';
import { canonicalBytes } from '@medledger/ledger-core';
import { z } from 'zod';

/**
 * The largest share of the whole payment a completion bonus may be. FDA's guidance on payment to research subjects
 * asks only that a bonus be "not so large as to unduly induce subjects to stay in the study"; it gives no number.
 * 20 % is this project's policy ceiling (ADR 0008); a schedule may set a lower one, never a higher one.
 */
export const COMPLETION_BONUS_MAX_SHARE = 0.2;

/** Amounts are integers in the currency's minor unit (cents): no floating point anywhere in a payment. */
const Amount = z.number().int().min(0).max(100_000_000);
const Code = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (1 to 64)');

/**
 * A payment schedule: data, versioned with the consent form a participant signs, evaluated by {@link evaluate}.
 * SPEC (policy): FDA, "Payment and Reimbursement to Research Subjects" (2018): payment accrues as the study goes
 * and is not contingent on completion; a completion bonus stays small; reimbursement of expenses is not payment.
 */
export const PaymentSchedule = z
  .strictObject({
    scheduleId: Code,
    version: z.number().int().min(1),
    /** ISO 4217. */
    currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR'),
    /** The protocol's scheduled visits, in order, each with what attending it earns. */
    visits: z
      .array(z.strictObject({ visitId: Code, amount: Amount }))
      .min(1)
      .max(500),
    /** Earned once when every listed visit is completed (e.g. a 6-month milestone). */
    milestones: z
      .array(z.strictObject({ milestoneId: Code, amount: Amount, afterVisits: z.array(Code).min(1) }))
      .max(100)
      .default([]),
    /** Earned on completion; never above `maxShare` of the schedule's whole payment. */
    completionBonus: z
      .strictObject({ amount: Amount, maxShare: z.number().gt(0).max(COMPLETION_BONUS_MAX_SHARE) })
      .optional(),
    /** On withdrawal every accrued amount stays earned; the bonus is forfeited or paid pro rata to visits completed. */
    onWithdrawal: z.strictObject({ bonus: z.enum(['forfeit', 'pro-rata']) }).default({ bonus: 'pro-rata' }),
    /** Expenses reimbursed at cost, apart from payment, up to a limit per completed visit. */
    reimbursement: z.strictObject({ categories: z.array(Code).min(1), perVisitLimit: Amount }).optional(),
    /** Visits after which what accrued falls due (withdrawal and completion always settle); absent: every visit. */
    dueAfterVisits: z.array(Code).optional(),
  })
  .superRefine((schedule, context) => {
    const visits = new Set<string>();
    for (const [i, visit] of schedule.visits.entries()) {
      if (visits.has(visit.visitId))
        context.addIssue({ code: 'custom', path: ['visits', i, 'visitId'], message: `visit ${visit.visitId} twice` });
      visits.add(visit.visitId);
    }
    const milestones = new Set<string>();
    for (const [i, milestone] of schedule.milestones.entries()) {
      if (milestones.has(milestone.milestoneId))
        context.addIssue({
          code: 'custom',
          path: ['milestones', i],
          message: `milestone ${milestone.milestoneId} twice`,
        });
      milestones.add(milestone.milestoneId);
      for (const [j, visitId] of milestone.afterVisits.entries())
        if (!visits.has(visitId))
          context.addIssue({
            code: 'custom',
            path: ['milestones', i, 'afterVisits', j],
            message: `no scheduled visit ${visitId}`,
          });
    }
    for (const [i, visitId] of (schedule.dueAfterVisits ?? []).entries())
      if (!visits.has(visitId))
        context.addIssue({ code: 'custom', path: ['dueAfterVisits', i], message: `no scheduled visit ${visitId}` });
    const bonus = schedule.completionBonus;
    if (bonus && bonus.amount > bonusCap(schedule))
      context.addIssue({
        code: 'custom',
        path: ['completionBonus', 'amount'],
        message: `the bonus may be at most ${bonusCap(schedule)} (${bonus.maxShare * 100} % of the whole payment)`,
      });
  });
export type PaymentSchedule = z.output<typeof PaymentSchedule>;
export type PaymentScheduleInput = z.input<typeof PaymentSchedule>;

export const ScheduleError = {
  INVALID_SCHEDULE: 'COMPENSATION.INVALID_SCHEDULE',
} as const;

export type ScheduleParse =
  | { ok: true; schedule: PaymentSchedule; hash: string }
  | { ok: false; code: typeof ScheduleError.INVALID_SCHEDULE; issues: Array<{ path: string; message: string }> };

/** Validates a schedule as received (defaults filled in) and names its hash. Never throws. */
export function parseSchedule(input: unknown): ScheduleParse {
  const parsed = PaymentSchedule.safeParse(input);
  if (!parsed.success)
    return {
      ok: false,
      code: ScheduleError.INVALID_SCHEDULE,
      issues: parsed.error.issues.map((issue) => ({
        path: issue.path.map(String).join('.') || '(root)',
        message: issue.message,
      })),
    };
  return { ok: true, schedule: parsed.data, hash: scheduleHash(parsed.data) };
}

/** base64 SHA-256 of the RFC 8785 JSON of the schedule (defaults filled in): the name events give a version. */
export function scheduleHash(schedule: PaymentSchedule): string {
  // Through JSON first: an optional field present as `undefined` is the same schedule as one without it.
  const json = JSON.parse(JSON.stringify(schedule)) as unknown;
  return createHash('sha256').update(canonicalBytes(json)).digest('base64');
}

/** What every visit and milestone pays, without the bonus. */
export function basePayment(schedule: Pick<PaymentSchedule, 'visits' | 'milestones'>): number {
  return (
    schedule.visits.reduce((sum, visit) => sum + visit.amount, 0) +
    schedule.milestones.reduce((sum, milestone) => sum + milestone.amount, 0)
  );
}

/**
 * The largest bonus the schedule allows: b ≤ share × (base + b), i.e. b ≤ share × base / (1 − share), in whole
 * minor units rounded down (the share taken to a basis point).
 */
export function bonusCap(schedule: Pick<PaymentSchedule, 'visits' | 'milestones' | 'completionBonus'>): number {
  // In basis points, so that the cap is exact integer arithmetic (0.2 is not exact in binary floating point).
  const bp = Math.round((schedule.completionBonus?.maxShare ?? 0) * 10_000);
  return Math.floor((bp * basePayment(schedule)) / (10_000 - bp));
}

/** The most a participant can be paid under the schedule (reimbursements apart). */
export function maximumPayment(schedule: PaymentSchedule): number {
  return basePayment(schedule) + Math.min(schedule.completionBonus?.amount ?? 0, bonusCap(schedule));
}

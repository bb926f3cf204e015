import { randomBytes } from 'node:crypto';
import { evaluate, type ParticipantFact } from './evaluate';
import { bonusCap, maximumPayment, parseSchedule, type PaymentSchedule, type PaymentScheduleInput } from './schedule';

const INPUT: PaymentScheduleInput = {
  scheduleId: 'sched-a',
  version: 1,
  currency: 'EUR',
  visits: [
    { visitId: 'V1', amount: 5_000 },
    { visitId: 'V2', amount: 5_000 },
    { visitId: 'V3', amount: 7_500 },
    { visitId: 'V4', amount: 7_500 },
  ],
  milestones: [{ milestoneId: 'M-HALF', amount: 2_000, afterVisits: ['V1', 'V2'] }],
  completionBonus: { amount: 5_000, maxShare: 0.2 },
  onWithdrawal: { bonus: 'pro-rata' },
  reimbursement: { categories: ['travel', 'parking'], perVisitLimit: 3_000 },
  dueAfterVisits: ['V2', 'V4'],
};

function schedule(overrides: Partial<PaymentScheduleInput> = {}): PaymentSchedule {
  const parsed = parseSchedule({ ...INPUT, ...overrides });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.schedule;
}

let n = 0;
const id = () => `e${++n}`;
const visit = (visitId: string, outcome: 'completed' | 'missed' = 'completed'): ParticipantFact => ({
  kind: 'visit',
  eventId: id(),
  visitId,
  outcome,
});
const expense = (visitId: string, amount: number, category = 'travel'): ParticipantFact => ({
  kind: 'expense',
  eventId: id(),
  visitId,
  category,
  amount,
});
const withdrawn = (): ParticipantFact => ({ kind: 'withdrawn', eventId: id() });
const completed = (): ParticipantFact => ({ kind: 'completed', eventId: id() });

describe('the schedule', () => {
  it('caps the completion bonus at its share of the whole payment', () => {
    // base 27,000: the bonus b may be at most 0.2 × (27,000 + b), i.e. 6,750.
    expect(bonusCap(schedule())).toBe(6_750);
    expect(parseSchedule({ ...INPUT, completionBonus: { amount: 6_750, maxShare: 0.2 } }).ok).toBe(true);
    const over = parseSchedule({ ...INPUT, completionBonus: { amount: 6_751, maxShare: 0.2 } });
    expect(over).toMatchObject({ ok: false, code: 'COMPENSATION.INVALID_SCHEDULE' });
    expect(!over.ok && over.issues[0]?.path).toBe('completionBonus.amount');
  });

  test.each([
    ['a share above the policy ceiling', { completionBonus: { amount: 1, maxShare: 0.3 } }, 'completionBonus.maxShare'],
    [
      'a visit twice',
      {
        visits: [
          { visitId: 'V1', amount: 1 },
          { visitId: 'V1', amount: 1 },
        ],
      },
      'visits.1.visitId',
    ],
    [
      'a milestone after an unknown visit',
      { milestones: [{ milestoneId: 'M', amount: 1, afterVisits: ['V9'] }] },
      'milestones.0.afterVisits.0',
    ],
    ['a payment point that is no visit', { dueAfterVisits: ['V9'] }, 'dueAfterVisits.0'],
    ['a fractional amount', { visits: [{ visitId: 'V1', amount: 10.5 }] }, 'visits.0.amount'],
    ['a negative amount', { visits: [{ visitId: 'V1', amount: -1 }] }, 'visits.0.amount'],
    ['no visit', { visits: [] }, 'visits'],
    ['a bad currency', { currency: 'euro' }, 'currency'],
  ])('refuses %s', (_name, overrides, path) => {
    const parsed = parseSchedule({ ...INPUT, ...overrides });
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.issues.map((issue) => issue.path)).toContain(path);
  });

  it('has one hash per content, whatever the key order', () => {
    const a = parseSchedule(INPUT);
    const b = parseSchedule(Object.fromEntries(Object.entries(INPUT).reverse()));
    const c = parseSchedule({ ...INPUT, version: 2 });
    expect(a.ok && b.ok && a.hash === b.hash).toBe(true);
    expect(a.ok && c.ok && a.hash !== c.hash).toBe(true);
  });
});

describe('evaluate: the compensation contract', () => {
  it('pays visits as they are completed, the milestone with its last visit, and settles at payment points', () => {
    const facts = [visit('V1'), visit('V2'), visit('V3'), visit('V4'), completed()];
    const result = evaluate(schedule(), facts);
    expect(result.lines.map((line) => [line.lineId, line.amount])).toEqual([
      ['visit:V1', 5_000],
      ['visit:V2', 5_000],
      ['milestone:M-HALF', 2_000],
      ['visit:V3', 7_500],
      ['visit:V4', 7_500],
      ['bonus', 5_000],
    ]);
    expect(result.lines[2]?.sourceEventIds).toEqual([facts[0]?.eventId, facts[1]?.eventId]);
    expect(result.due.map((due) => [due.dueId, due.amount, due.triggerEventId])).toEqual([
      ['due:1', 12_000, facts[1]?.eventId],
      ['due:2', 15_000, facts[3]?.eventId],
      ['due:3', 5_000, facts[4]?.eventId],
    ]);
    expect(result.totals).toEqual({ payment: 32_000, reimbursement: 0 });
  });

  it('pays nothing for a missed visit and no milestone that needed it', () => {
    const result = evaluate(schedule(), [visit('V1'), visit('V2', 'missed'), visit('V3')]);
    expect(result.lines.map((line) => line.lineId)).toEqual(['visit:V1', 'visit:V3']);
    expect(result.due).toHaveLength(1); // V2 is a payment point: V1's 5,000 fell due there
  });

  it('keeps what was earned on withdrawal and pro-rates the bonus to visits completed', () => {
    const result = evaluate(schedule(), [visit('V1'), visit('V2'), visit('V3', 'missed'), withdrawn(), visit('V4')]);
    // bonus 5,000 × 2 completed ÷ 4 scheduled
    expect(result.lines.find((line) => line.kind === 'bonus')?.amount).toBe(2_500);
    expect(result.totals.payment).toBe(5_000 + 5_000 + 2_000 + 2_500);
    expect(result.ignored.map((fact) => fact.reason)).toEqual(['after the participant left the study (withdrawn)']);
    expect(result.due.at(-1)?.amount).toBe(2_500);
  });

  it('forfeits the bonus on withdrawal when the schedule says so', () => {
    const result = evaluate(schedule({ onWithdrawal: { bonus: 'forfeit' } }), [visit('V1'), withdrawn()]);
    expect(result.lines.map((line) => line.lineId)).toEqual(['visit:V1']);
  });

  it('reimburses expenses apart from payment, up to the limit per completed visit', () => {
    const result = evaluate(schedule(), [
      visit('V1'),
      expense('V1', 2_000),
      expense('V1', 2_000, 'parking'),
      expense('V1', 500),
      expense('V2', 100),
      expense('V1', 100, 'meals'),
    ]);
    expect(result.lines.filter((line) => line.kind === 'reimbursement').map((line) => line.amount)).toEqual([
      2_000, 1_000,
    ]);
    expect(result.totals).toEqual({ payment: 5_000, reimbursement: 3_000 });
    expect(result.ignored.map((fact) => fact.reason)).toEqual([
      "visit V1's reimbursement limit is reached",
      'visit V2 was not completed',
      'expense category meals is not reimbursed',
    ]);
    expect(result.due.every((due) => due.reimbursement === 0 || due.amount === 0)).toBe(true);
  });

  it('pays a visit once and ignores visits the schedule does not have', () => {
    const result = evaluate(schedule(), [visit('V1'), visit('V1'), visit('X9')]);
    expect(result.totals.payment).toBe(5_000);
    expect(result.ignored.map((fact) => fact.reason)).toEqual([
      'visit V1 was recorded before',
      'visit X9 is not in schedule sched-a',
    ]);
  });
});

/** A small seeded generator, so that a failing property names its seed and can be replayed. */
function generator(seed: number) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

function randomHistory(random: () => number, visits: readonly string[]): ParticipantFact[] {
  const facts: ParticipantFact[] = [];
  for (const visitId of visits) {
    if (random() < 0.15) break;
    facts.push(visit(visitId, random() < 0.8 ? 'completed' : 'missed'));
    if (random() < 0.3) facts.push(expense(visitId, Math.floor(random() * 4_000)));
  }
  const end = random();
  if (end < 0.4) facts.push(withdrawn());
  else if (end < 0.8) facts.push(completed());
  return facts;
}

function randomSchedule(random: () => number): PaymentSchedule {
  const count = 1 + Math.floor(random() * 8);
  const visits = Array.from({ length: count }, (_v, i) => ({
    visitId: `V${i + 1}`,
    amount: Math.floor(random() * 20_000),
  }));
  const base = visits.reduce((sum, v) => sum + v.amount, 0);
  return schedule({
    visits,
    milestones: [],
    dueAfterVisits: undefined,
    completionBonus: { amount: Math.floor(random() * base * 0.25), maxShare: 0.2 },
    onWithdrawal: { bonus: random() < 0.5 ? 'pro-rata' : 'forfeit' },
  });
}

describe('evaluate: properties (1,000 random schedules and histories each)', () => {
  const seeds = Array.from({ length: 1_000 }, (_v, i) => i + 1);

  it('is deterministic: same inputs, same amounts', () => {
    for (const seed of seeds) {
      const random = generator(seed);
      const s = randomSchedule(random);
      const facts = randomHistory(
        random,
        s.visits.map((v) => v.visitId),
      );
      expect([seed, evaluate(s, facts)]).toEqual([seed, evaluate(structuredClone(s), structuredClone(facts))]);
    }
  });

  it('never accrues above the schedule maximum, nor a bonus above its cap, nor a reimbursement above the limit', () => {
    for (const seed of seeds) {
      const random = generator(seed);
      const s = randomSchedule(random);
      const result = evaluate(
        s,
        randomHistory(
          random,
          s.visits.map((v) => v.visitId),
        ),
      );
      const bonus = result.lines.find((line) => line.kind === 'bonus')?.amount ?? 0;
      expect([seed, result.totals.payment <= maximumPayment(s)]).toEqual([seed, true]);
      expect([seed, bonus <= bonusCap(s)]).toEqual([seed, true]);
      const dueTotal = result.due.reduce((sum, due) => sum + due.amount, 0);
      expect([seed, dueTotal <= result.totals.payment]).toEqual([seed, true]);
    }
  });

  it('is monotone in visits: completing one more visit before withdrawing never pays less', () => {
    for (const seed of seeds) {
      const random = generator(seed);
      const s = randomSchedule(random);
      const ids = s.visits.map((v) => v.visitId);
      const k = Math.floor(random() * ids.length);
      const before = [...ids.slice(0, k).map((v) => visit(v)), withdrawn()];
      const after = [...ids.slice(0, k + 1).map((v) => visit(v)), withdrawn()];
      expect([seed, evaluate(s, after).totals.payment >= evaluate(s, before).totals.payment]).toEqual([seed, true]);
    }
  });

  it('pays the same to participants with the same facts, whatever their event ids', () => {
    for (const seed of seeds.slice(0, 200)) {
      const random = generator(seed);
      const s = randomSchedule(random);
      const facts = randomHistory(
        random,
        s.visits.map((v) => v.visitId),
      );
      const renamed = facts.map((fact) => ({ ...fact, eventId: randomBytes(4).toString('hex') }));
      expect([seed, evaluate(s, renamed).totals]).toEqual([seed, evaluate(s, facts).totals]);
    }
  });
});

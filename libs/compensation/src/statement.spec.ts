import { evaluate, type ParticipantFact } from './evaluate';
import { fairnessReport } from './fairness';
import { parseSchedule } from './schedule';
import { checkStatement, recordCommitment, STATEMENT_FORMAT, type Statement, type StatementEvent } from './statement';

const parsed = parseSchedule({
  scheduleId: 's',
  version: 1,
  currency: 'EUR',
  visits: [
    { visitId: 'V1', amount: 1000 },
    { visitId: 'V2', amount: 1000 },
  ],
  completionBonus: { amount: 400, maxShare: 0.2 },
  reimbursement: { categories: ['travel'], perVisitLimit: 500 },
});
if (!parsed.ok) throw new Error('schedule');
const { schedule, hash } = parsed;

const salt = Buffer.alloc(32, 7);
function committed(id: string, type: string, record: Record<string, unknown>): StatementEvent {
  return {
    eventId: id,
    envelope: { id, type, data: { commitment: recordCommitment(record, salt) } },
    clear: { record, salt: salt.toString('base64') },
  };
}

/** A statement as trials writes it: facts with their records, then the accruals and dues the contract computes. */
function statement(): Statement {
  const facts: StatementEvent[] = [
    committed('e1', 'trials.VisitRecorded', { visitId: 'V1', outcome: 'completed', date: '2026-12-01' }),
    committed('e2', 'trials.ExpenseClaimed', { visitId: 'V1', category: 'travel', amount: 800 }),
    committed('e3', 'trials.ParticipantWithdrawn', { reason: 'moving' }),
  ];
  const evaluation = evaluate(schedule, [
    { kind: 'visit', eventId: 'e1', visitId: 'V1', outcome: 'completed' },
    { kind: 'expense', eventId: 'e2', visitId: 'V1', category: 'travel', amount: 800 },
    { kind: 'withdrawn', eventId: 'e3' },
  ]);
  const accruals = evaluation.lines.map((line, i) => ({
    eventId: `a${i}`,
    envelope: { id: `a${i}`, type: 'trials.PaymentAccrued', data: { ...line, scheduleHash: hash } },
  }));
  const dues = evaluation.due.map((due, i) => ({
    eventId: `d${i}`,
    envelope: { id: `d${i}`, type: 'trials.PaymentDue', data: { ...due, scheduleHash: hash } },
  }));
  return {
    format: STATEMENT_FORMAT,
    trialId: 't',
    participantId: 'P',
    schedule,
    scheduleHash: hash,
    events: [...facts, ...accruals, ...dues],
    evaluation,
  };
}

describe('checkStatement: re-executing the contract', () => {
  it('accepts a statement whose records open their commitments and whose amounts the contract computes', () => {
    const check = checkStatement(statement());
    expect(check.issues).toEqual([]);
    expect(check.commitmentsChecked).toBe(3);
    // V1, the bonus pro rata (400 × 1 of 2), the travel expense up to its limit.
    expect(check.evaluation?.totals).toEqual({ payment: 1200, reimbursement: 500 });
  });

  const find = (s: Statement, predicate: (e: StatementEvent) => boolean) => s.events.find(predicate) as StatementEvent;
  test.each<[string, (s: Statement) => void, string]>([
    [
      'an amount changed',
      (s) => void (find(s, (e) => e.envelope.data['lineId'] === 'visit:V1').envelope.data['amount'] = 999),
      'STATEMENT.AMOUNT_MISMATCH',
    ],
    [
      'an accrual dropped',
      (s) => void (s.events = s.events.filter((e) => e.envelope.data['lineId'] !== 'bonus')),
      'STATEMENT.AMOUNT_MISMATCH',
    ],
    [
      'a record altered',
      (s) =>
        void ((find(s, (e) => e.eventId === 'e1').clear as { record: Record<string, unknown> }).record['outcome'] =
          'missed'),
      'STATEMENT.COMMITMENT_MISMATCH',
    ],
    ['a record withheld', (s) => void delete find(s, (e) => e.eventId === 'e2').clear, 'STATEMENT.RECORD_MISSING'],
    [
      'another schedule',
      (s) =>
        void (s.schedule = {
          ...schedule,
          visits: [
            { visitId: 'V1', amount: 5 },
            { visitId: 'V2', amount: 5 },
          ],
          completionBonus: undefined,
        }),
      'STATEMENT.SCHEDULE_HASH_MISMATCH',
    ],
    [
      'a due changed',
      (s) => void (find(s, (e) => e.envelope.type === 'trials.PaymentDue').envelope.data['amount'] = 1),
      'STATEMENT.DUE_MISMATCH',
    ],
    [
      'other source events',
      (s) => void (find(s, (e) => e.envelope.data['lineId'] === 'visit:V1').envelope.data['sourceEventIds'] = ['e9']),
      'STATEMENT.SOURCES_MISMATCH',
    ],
    ['not a statement', (s) => void ((s as { format: string }).format = 'x'), 'STATEMENT.MALFORMED'],
  ])('names %s', (_name, tamper, code) => {
    const s = JSON.parse(JSON.stringify(statement())) as Statement;
    tamper(s);
    const check = checkStatement(s);
    expect(check.ok).toBe(false);
    expect(check.issues.map((issue) => issue.code)).toContain(code);
  });
});

describe('fairnessReport', () => {
  const facts = (...visits: string[]): ParticipantFact[] =>
    visits.map((visitId, i) => ({ kind: 'visit', eventId: `${visitId}-${i}`, visitId, outcome: 'completed' }));
  const schedules = new Map([[hash, schedule]]);
  const account = (participantId: string, f: ParticipantFact[], recorded = evaluate(schedule, f).lines) => ({
    participantId,
    scheduleHash: hash,
    facts: f,
    recorded,
  });

  it('finds participants with the same visits paid the same fair', () => {
    const report = fairnessReport(schedules, [account('A', facts('V1', 'V2')), account('B', facts('V2', 'V1'))]);
    expect(report).toMatchObject({ fair: true, differences: [] });
    expect(report.groups).toHaveLength(1);
  });

  it('names a recorded amount the contract does not owe', () => {
    const f = facts('V1');
    const report = fairnessReport(schedules, [
      account('A', f),
      account('B', f, [{ lineId: 'visit:V1', kind: 'visit', amount: 700, sourceEventIds: [] }]),
    ]);
    expect(report.fair).toBe(false);
    expect(report.differences[0]).toMatchObject({ participantId: 'B', comparedWith: 'contract' });
    expect(report.differences[0]?.cause).toContain('visit:V1 recorded 700, owed 1000');
  });

  it('explains a difference between peers by how they left the study', () => {
    const completed = [...facts('V1', 'V2'), { kind: 'completed', eventId: 'c' } as ParticipantFact];
    const withdrawn = [...facts('V1', 'V2'), { kind: 'withdrawn', eventId: 'w' } as ParticipantFact];
    const report = fairnessReport(schedules, [account('A', completed), account('B', withdrawn)]);
    expect(report.fair).toBe(true);
    expect(report.differences).toEqual([]); // pro rata of 2 of 2 visits is the whole bonus: the same pay
    const early = fairnessReport(schedules, [
      account('A', [...facts('V1'), { kind: 'completed', eventId: 'c' }]),
      account('B', [...facts('V1'), { kind: 'withdrawn', eventId: 'w' }]),
    ]);
    expect(early.differences[0]?.cause).toContain('A completed, B withdrawn');
    expect(early.fair).toBe(true);
  });
});

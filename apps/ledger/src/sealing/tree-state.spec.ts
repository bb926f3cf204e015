import { canonicalize, leafData } from '@medledger/ledger-core';
import type { LedgerRepository } from './ledger.repository';
import { TreeState } from './tree-state';

/** The sequencer's fast leaf encoding (concatenation) must equal the specified JCS bytes exactly. */
describe('TreeState.leafData', () => {
  const tree = new TreeState({} as LedgerRepository);

  it.each([
    ['a plain envelope', { specversion: '1.0', id: 'e-1', data: { a: 1 } }, 'medledger.records.events'],
    ['unicode and escapes', { id: 'é-"quoted"\\\n', data: { ключ: '值', emoji: '😀', ctl: '\u0001' } }, 'topic "x"'],
    [
      'numbers in canonical form',
      { id: 'n', data: { big: 1e21, small: 1e-7, neg: -0, float: 0.1 + 0.2, int: 42 } },
      't',
    ],
    ['nested arrays and key order', { z: [3, { b: 2, a: 1 }], a: null, m: [true, false], id: 'k' }, 't'],
  ])('matches JCS for %s', (_case, event, topic) => {
    const receivedAt = new Date('2026-11-23T12:34:56.789Z');
    const fast = tree.leafData(2 ** 40 + 7, { canonicalEvent: canonicalize(event), receivedAt, topic });
    const spec = leafData({ index: 2 ** 40 + 7, receivedAt: receivedAt.toISOString(), topic, event });
    expect(Buffer.from(fast).toString('utf8')).toBe(Buffer.from(spec).toString('utf8'));
  });
});

import { canonicalize } from '@medledger/ledger-core';
import { event, producer, producersOf } from '../test/test-ledger';
import { checkLeaf, eventOfLeaf } from './leaf';

/** A leaf record as the ledger seals it: the canonical JSON of {event, index, receivedAt, topic}. */
function leafRecord(sealed: Record<string, unknown>, index = 0, topic = 'medledger.supply.events') {
  const text = canonicalize({ event: sealed, index, receivedAt: '2026-12-02T10:00:00.000Z', topic });
  return { index, eventId: sealed['id'] as string, leafData: Buffer.from(text, 'utf8').toString('base64') };
}

function checked(record: ReturnType<typeof leafRecord>) {
  const leaf = checkLeaf(record, record.index);
  if (!leaf.ok) throw new Error(leaf.reason);
  return leaf;
}

describe('eventOfLeaf: the event cut out of a checked leaf', () => {
  it.each([
    ['a plain event', event('e-1', 1), 'medledger.supply.events'],
    [
      'members named index nested in the event',
      { ...event('e-2', 2), data: { index: 3, x: { ',"index":': 4 } } },
      't.supply.events',
    ],
    [
      'non-ASCII text in the event and the topic',
      { ...event('e-3', 3), data: { name: 'Zoë — 東京 🧪' } },
      'é.supply.events',
    ],
  ])('%s: its text and bytes are the canonical form of the event', (_what, sealed, topic) => {
    const leaf = checked(leafRecord(sealed, 0, topic));
    const cut = eventOfLeaf(leaf);
    expect(cut.text).toBe(canonicalize(sealed));
    expect(Buffer.from(cut.bytes).equals(Buffer.from(canonicalize(sealed), 'utf8'))).toBe(true);
    expect(cut.canonical).toBe(true);
  });
});

describe('the proof of origin checked from the cut, as from the event serialised again', () => {
  const signer = producer();
  const producers = producersOf(signer);
  const batch = signer.signBatch([
    event('o-1', 1),
    { ...event('o-2', 2), data: { index: 1, name: 'Zoë' } },
    event('o-3', 3),
  ]);

  it('holds for each event of a signed batch', () => {
    for (const sealed of batch) {
      const leaf = checked(leafRecord(sealed));
      expect(producers.check(leaf.event, leaf.topic, eventOfLeaf(leaf))).toEqual({ ok: true });
      expect(producers.check(leaf.event, leaf.topic)).toEqual({ ok: true });
    }
  });

  it.each([
    ['a signed member changed', (e: Record<string, unknown>) => ({ ...e, type: 'supply.PackDecommissioned' })],
    ['a nested value changed', (e: Record<string, unknown>) => ({ ...e, data: { index: 2, name: 'Zoë' } })],
    ['its place in the batch changed', (e: Record<string, unknown>) => ({ ...e, batchindex: 0 })],
  ])('fails alike when %s', (_what, change) => {
    const leaf = checked(leafRecord(change(batch[1] as Record<string, unknown>)));
    const fromCut = producers.check(leaf.event, leaf.topic, eventOfLeaf(leaf));
    expect(fromCut.ok).toBe(false);
    expect(fromCut).toEqual(producers.check(leaf.event, leaf.topic));
  });
});

import { toHex } from './encoding';
import { sha256 } from './hash';
import { canonicalize, JCS_MAX_DEPTH, nestsWithin } from './jcs';
import { fitsInLeaf, LEAF_EVENT_MAX_DEPTH, leafData, leafHashOf, type LeafInput } from './leaf';

const event = {
  specversion: '1.0',
  id: '0b9c6f0e-8a0c-4a39-9d0e-3c1f2b1d6a77',
  source: 'medledger/supply',
  type: 'supply.ProductShipped',
  time: '2026-11-23T09:59:59.123Z',
  data: { gtin: '09506000134352', serial: 'A1', quantity: 2.5 },
};
const input: LeafInput = { index: 41, receivedAt: '2026-11-23T10:00:00.000Z', topic: 'medledger.supply', event };

describe('leaves', () => {
  it('leaf data is the canonical JSON of { event, index, receivedAt, topic }', () => {
    expect(new TextDecoder().decode(leafData(input))).toBe(
      '{"event":{"data":{"gtin":"09506000134352","quantity":2.5,"serial":"A1"},' +
        '"id":"0b9c6f0e-8a0c-4a39-9d0e-3c1f2b1d6a77","source":"medledger/supply","specversion":"1.0",' +
        '"time":"2026-11-23T09:59:59.123Z","type":"supply.ProductShipped"},"index":41,' +
        '"receivedAt":"2026-11-23T10:00:00.000Z","topic":"medledger.supply"}',
    );
  });

  it('the leaf hash is SHA-256(0x00 || leaf data) (RFC 6962 §2.1)', () => {
    expect(toHex(leafHashOf(input))).toBe(toHex(sha256(Uint8Array.of(0), leafData(input))));
  });

  it('does not depend on the key order of the received JSON', () => {
    const reordered = JSON.parse(
      '{"data":{"serial":"A1","quantity":2.5,"gtin":"09506000134352"},"type":"supply.ProductShipped",' +
        '"time":"2026-11-23T09:59:59.123Z","source":"medledger/supply","id":"0b9c6f0e-8a0c-4a39-9d0e-3c1f2b1d6a77",' +
        '"specversion":"1.0"}',
    ) as unknown;
    expect(toHex(leafHashOf({ ...input, event: reordered }))).toBe(toHex(leafHashOf(input)));
  });

  it('binds the index, time and topic', () => {
    const base = toHex(leafHashOf(input));
    expect(toHex(leafHashOf({ ...input, index: 42 }))).not.toBe(base);
    expect(toHex(leafHashOf({ ...input, receivedAt: '2026-11-23T10:00:00.001Z' }))).not.toBe(base);
    expect(toHex(leafHashOf({ ...input, topic: 'medledger.records' }))).not.toBe(base);
    expect(toHex(leafHashOf({ ...input, event: { ...event, id: 'x' } }))).not.toBe(base);
  });

  it.each<[string, Partial<LeafInput>]>([
    ['a negative index', { index: -1 }],
    ['an index beyond 2^53', { index: 2 ** 53 }],
    ['a local time', { receivedAt: '2026-11-23T10:00:00.000' }],
    ['an empty topic', { topic: '' }],
    ['a missing event', { event: undefined }],
  ])('refuses %s', (_name, change) => {
    expect(() => leafData({ ...input, ...change })).toThrow('LEDGER.INVALID_LEAF');
  });

  it('refuses an event with no canonical JSON form', () => {
    expect(() => leafData({ ...input, event: { n: Number.NaN } })).toThrow('LEDGER.JCS_UNSUPPORTED_VALUE');
  });
});

describe('an event nested as deep as a leaf allows', () => {
  /** `event` with its data nested so that the whole envelope is `levels` arrays and objects deep. */
  const nested = (levels: number) => {
    let data: unknown = 'bottom';
    for (let i = levels - 2; i >= 0; i--) data = i % 2 === 0 ? { down: data } : [data];
    return { ...event, data };
  };

  it('fits and has canonical leaf bytes at LEAF_EVENT_MAX_DEPTH (one below JCS_MAX_DEPTH: the leaf is a level)', () => {
    expect(LEAF_EVENT_MAX_DEPTH).toBe(JCS_MAX_DEPTH - 1);
    const deepest = nested(LEAF_EVENT_MAX_DEPTH);
    expect(nestsWithin(deepest, LEAF_EVENT_MAX_DEPTH)).toBe(true);
    expect(nestsWithin(deepest, LEAF_EVENT_MAX_DEPTH - 1)).toBe(false);
    expect(fitsInLeaf(deepest)).toBe(true);
    const text = new TextDecoder().decode(leafData({ ...input, event: deepest }));
    expect(canonicalize(JSON.parse(text))).toBe(text);
  });

  it('does not fit one level deeper, where the event alone still canonicalises but its leaf would not', () => {
    const tooDeep = nested(LEAF_EVENT_MAX_DEPTH + 1);
    expect(fitsInLeaf(tooDeep)).toBe(false);
    expect(() => canonicalize(tooDeep)).not.toThrow();
    expect(() => leafData({ ...input, event: tooDeep })).toThrow(/nesting deeper than 256/);
  });

  it.each<[string, unknown, number, boolean]>([
    ['a scalar', 'x', 0, true],
    ['an empty object', {}, 1, true],
    ['an empty object', {}, 0, false],
    ['an array in an object', { a: [1] }, 2, true],
    ['an array in an object', { a: [1] }, 1, false],
    ['a deep member after shallow ones', { a: 1, b: { c: { d: {} } } }, 3, false],
  ])('nestsWithin: %s within %i levels: %s', (_, value, levels, expected) => {
    expect(nestsWithin(value, levels)).toBe(expected);
  });
});

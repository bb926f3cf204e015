import canonicalizeReference from 'canonicalize';
import { canonicalize } from './jcs';

/**
 * Our RFC 8785 implementation (KAT-tested in jcs.spec.ts) against an independent one from npm (`canonicalize`,
 * by RFC 8785's co-author), over generated values. ADR 0003 says why we keep our own.
 */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const STRINGS = ['', 'a', 'é', '€', '😀', '\u0000', '\u001f', '"', '\\', '\n', 'z\u2028', 'A\uD834\uDD1E', 'dépôt'];

function value(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 5 : 7));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2: {
      const kinds = [
        0,
        -0,
        1,
        -1,
        1e21,
        1e-7,
        123.456,
        2 ** 53 - 1,
        -(2 ** 31),
        5e-324,
        1.7976931348623157e308,
        0.1 + 0.2,
      ];
      return next() < 0.5
        ? kinds[Math.floor(next() * kinds.length)]
        : (next() - 0.5) * 10 ** Math.floor(next() * 30 - 10);
    }
    case 3:
    case 4:
      return STRINGS[Math.floor(next() * STRINGS.length)];
    case 5:
      return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: Math.floor(next() * 5) }, () => [
          STRINGS[Math.floor(next() * STRINGS.length)] as string,
          value(next, depth + 1),
        ]),
      );
  }
}

describe('RFC 8785 canonicalization: ours against the reference implementation', () => {
  it.each(Array.from({ length: 300 }, (_, i) => i))('agrees on generated value %i', (seed) => {
    const input = value(random(seed + 1), 0);
    expect(canonicalize(input)).toBe(canonicalizeReference(input));
  });
});

import { randomBytes } from 'node:crypto';
import { fromBase64, toBase64 } from './encoding';

describe('fromBase64: the one canonical spelling of RFC 4648 §4 (standard alphabet, padded)', () => {
  it('accepts what toBase64 writes, for every length modulo 3 and the empty string', () => {
    for (const length of [0, 1, 2, 3, 4, 5, 32, 64, 1000]) {
      const bytes = new Uint8Array(randomBytes(length));
      expect(fromBase64(toBase64(bytes))).toEqual(bytes);
      expect(fromBase64(toBase64(bytes), length)).toEqual(bytes);
    }
  });

  it.each([
    ['missing padding', 'QQ'],
    ['missing one padding character', 'QUI'],
    ['padding where none belongs', 'QUJD='],
    ['non-zero padding bits', 'QR=='],
    ['non-zero padding bits (one padding character)', 'QUJ='],
    ['URL-safe characters', '-_8='],
    ['a space inside', 'QU JD'],
    ['a trailing newline', 'QUJD\n'],
    ['a leading space', ' QUJD'],
    ['a character outside the alphabet', 'QU*D'],
    ['a non-ASCII character', 'QUJDé==='],
    ['padding in the middle', 'QQ==QUJD'],
    ['too much padding', 'QQ==='],
  ])('refuses %s', (_what, text) => {
    expect(fromBase64(text)).toBeUndefined();
  });

  it('refuses a value of another length than expected, and a value that is not a string', () => {
    expect(fromBase64(toBase64(new Uint8Array(31)), 32)).toBeUndefined();
    expect(fromBase64(42 as unknown as string)).toBeUndefined();
  });
});

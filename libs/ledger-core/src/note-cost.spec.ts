import * as keys from './keys';
import { parseVerifierKey, verifyNote } from './note';

// Counts the Ed25519 verifications verifyNote performs (the real function does the work).
jest.mock('./keys', () => {
  const actual = jest.requireActual<typeof keys>('./keys');
  return { ...actual, ed25519Verify: jest.fn(actual.ed25519Verify) };
});
const ed25519Verify = keys.ed25519Verify as jest.MockedFunction<typeof keys.ed25519Verify>;

// The Go vectors of note.spec.ts (golang.org/x/mod sumdb/note/note_test.go).
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG =
  '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
const verifier = (vkey: string) => {
  const parsed = parseVerifierKey(vkey);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
};
const peter = verifier('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW');
const enoch = verifier('EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop');

/** What a note costs its verifier: one Ed25519 verification per known (name, key id), whatever the lines. */
describe('verifyNote cost', () => {
  beforeEach(() => ed25519Verify.mockClear());

  it('verifies 16 copies of one signature line once', () => {
    const result = verifyNote(`${TEXT}\n${PETER_SIG.repeat(16)}`, [peter]);
    expect(result.ok && result.verified).toHaveLength(1);
    expect(ed25519Verify).toHaveBeenCalledTimes(1);
  });

  it('verifies each known key once when their lines are interleaved', () => {
    const result = verifyNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`.concat(PETER_SIG, ENOCH_SIG, PETER_SIG), [
      peter,
      enoch,
    ]);
    expect(result.ok && result.verified.map((s) => s.name)).toEqual(['PeterNeumann', 'EnochRoot']);
    expect(ed25519Verify).toHaveBeenCalledTimes(2);
  });

  it('refuses a note over the cap before verifying anything', () => {
    expect(verifyNote(`${TEXT}\n${PETER_SIG.repeat(17)}`, [peter])).toMatchObject({
      code: 'LEDGER.NOTE_TOO_MANY_SIGNATURES',
    });
    expect(ed25519Verify).not.toHaveBeenCalled();
  });

  it('refuses a second, different signature by a known key without verifying it', () => {
    const other = `${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(64)}`;
    expect(verifyNote(`${TEXT}\n${PETER_SIG}${other}`, [peter])).toMatchObject({
      code: 'LEDGER.NOTE_BAD_SIGNATURE',
    });
    expect(ed25519Verify).toHaveBeenCalledTimes(1);
  });
});

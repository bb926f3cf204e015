import { concatBytes, fromBase64, toBase64, utf8 } from './encoding';
import { LedgerCoreError } from './errors';
import {
  ed25519PublicKeyFromSeed,
  generateEd25519KeyPair,
  pkcs8FromSeed,
  publicKeyFromSpki,
  seedFromPkcs8,
  spkiFromPublicKey,
} from './keys';
import {
  createSigner,
  keyId,
  type NoteSigner,
  type NoteVerifier,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signerKey,
  signNote,
  verifierKey,
  verifyNote,
} from './note';

// Known answers from golang.org/x/mod sumdb/note/note_test.go (repository golang/mod, checked with read_file):
// TestNewVerifier, TestNewSigner, TestSign, TestVerifierList and TestOpen.
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG =
  '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

function ok<T>(result: { ok: true; value: T } | { ok: false; code: string; reason: string }): T {
  if (!result.ok) throw new Error(`${result.code}: ${result.reason}`);
  return result.value;
}

const peter = ok(parseVerifierKey(PETER_VKEY));
const enoch = ok(parseVerifierKey(ENOCH_VKEY));
const peterSigner = ok(parseSignerKey(PETER_SKEY));

describe('verifier keys (C2SP signed-note)', () => {
  it('parses the Go vector and recomputes its key id', () => {
    expect(peter.name).toBe('PeterNeumann');
    expect(peter.keyId).toBe('c74f20a3');
    expect(keyId(peter.name, peter.publicKey)).toBe('c74f20a3');
    expect(verifierKey(peter.name, peter.publicKey)).toBe(PETER_VKEY);
    expect(enoch.keyId).toBe('af0cfe78');
  });

  it('rejects every substring and every one-character change of the Go vector', () => {
    const rejected = (text: string): boolean => !parseVerifierKey(text).ok;
    for (let i = 0; i <= PETER_VKEY.length; i++) {
      for (let j = i + 1; j <= PETER_VKEY.length; j++) {
        if (i !== 0 || j !== PETER_VKEY.length) expect(rejected(PETER_VKEY.slice(i, j))).toBe(true);
      }
    }
    for (let i = 0; i < PETER_VKEY.length; i++) {
      const changed =
        PETER_VKEY.slice(0, i) + String.fromCharCode(PETER_VKEY.charCodeAt(i) + 1) + PETER_VKEY.slice(i + 1);
      expect(rejected(changed)).toBe(true);
    }
  });

  it('gives the reason: wrong key length, unknown algorithm, key id mismatch', () => {
    expect(
      parseVerifierKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='),
    ).toMatchObject({
      code: 'LEDGER.NOTE_MALFORMED_KEY',
    });
    expect(parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')).toMatchObject({
      code: 'LEDGER.NOTE_UNKNOWN_ALGORITHM',
    });
    expect(parseVerifierKey(PETER_VKEY.replace('c74f20a3', 'c74f20a4'))).toMatchObject({
      code: 'LEDGER.NOTE_KEY_ID_MISMATCH',
    });
    expect(parseVerifierKey(PETER_VKEY.replace('PeterNeumann', 'Peter Neumann'))).toMatchObject({
      code: 'LEDGER.NOTE_MALFORMED_KEY',
    });
  });
});

describe('signer keys', () => {
  it('parses the Go vector; its public key is the verifier key', () => {
    expect(peterSigner.name).toBe('PeterNeumann');
    expect(peterSigner.keyId).toBe('c74f20a3');
    expect(verifierKey(peterSigner.name, peterSigner.publicKey)).toBe(PETER_VKEY);
    const seed = (fromBase64(PETER_SKEY.slice('PRIVATE+KEY+PeterNeumann+c74f20a3+'.length)) as Uint8Array).slice(1);
    expect(signerKey('PeterNeumann', seed)).toBe(PETER_SKEY);
  });

  it('rejects every substring and every one-character change of the Go vector', () => {
    for (let i = 0; i <= PETER_SKEY.length; i++) {
      for (let j = i + 1; j <= PETER_SKEY.length; j++) {
        if (i === 0 && j === PETER_SKEY.length) continue;
        expect(parseSignerKey(PETER_SKEY.slice(i, j)).ok).toBe(false);
      }
    }
    for (let i = 0; i < PETER_SKEY.length; i++) {
      const changed =
        PETER_SKEY.slice(0, i) + String.fromCharCode(PETER_SKEY.charCodeAt(i) + 1) + PETER_SKEY.slice(i + 1);
      expect(parseSignerKey(changed).ok).toBe(false);
    }
  });

  it('converts raw keys to and from PKCS#8 and SPKI DER', () => {
    const { seed, publicKey } = generateEd25519KeyPair();
    expect(seedFromPkcs8(pkcs8FromSeed(seed))).toEqual(seed);
    expect(publicKeyFromSpki(spkiFromPublicKey(publicKey))).toEqual(publicKey);
    expect(ed25519PublicKeyFromSeed(seed)).toEqual(publicKey);
    expect(() => seedFromPkcs8(spkiFromPublicKey(publicKey))).toThrow('LEDGER.INVALID_KEY');
    expect(() => createSigner('name', new Uint8Array(31))).toThrow('LEDGER.INVALID_KEY');
  });
});

describe('signNote', () => {
  it('reproduces the Go signed note byte for byte (Ed25519 is deterministic)', () => {
    expect(signNote(TEXT, [peterSigner])).toBe(`${TEXT}\n${PETER_SIG}`);
  });

  it('refuses malformed text and signers', () => {
    expect(() => signNote('abc', [peterSigner])).toThrow('LEDGER.INVALID_NOTE');
    expect(() => signNote('', [peterSigner])).toThrow('LEDGER.INVALID_NOTE');
    expect(() => signNote('a\u0001b\n', [peterSigner])).toThrow('LEDGER.INVALID_NOTE');
    expect(() => signNote(TEXT, [])).toThrow('LEDGER.INVALID_NOTE');
    expect(() => signNote(TEXT, [peterSigner, peterSigner])).toThrow('LEDGER.INVALID_KEY');
    const seed = generateEd25519KeyPair().seed;
    expect(() => createSigner('bad name', seed)).toThrow(LedgerCoreError);
    expect(() => createSigner('a+b', seed)).toThrow(LedgerCoreError);
    expect(() => signNote(TEXT, [{ ...peterSigner, name: 'a+b', sign: (m) => peterSigner.sign(m) }])).toThrow(
      'LEDGER.INVALID_KEY',
    );
  });
});

describe('verifyNote (C2SP signed-note "Signatures"; Go TestOpen)', () => {
  const both = `${TEXT}\n${PETER_SIG}${ENOCH_SIG}`;

  it('verifies the known key and ignores the unknown one', () => {
    const result = verifyNote(both, [peter]);
    expect(result).toMatchObject({ ok: true, text: TEXT });
    if (!result.ok) return;
    expect(result.verified.map((s) => `${s.name}+${s.keyId}`)).toEqual(['PeterNeumann+c74f20a3']);
    expect(result.unverified.map((s) => `${s.name}+${s.keyId}`)).toEqual(['EnochRoot+af0cfe78']);
  });

  it('verifies both keys when both are known', () => {
    const result = verifyNote(utf8(both), [peter, enoch]);
    expect(result.ok && result.verified.map((s) => s.name)).toEqual(['PeterNeumann', 'EnochRoot']);
  });

  it('rejects a note no known key signed', () => {
    expect(verifyNote(both, [])).toMatchObject({ code: 'LEDGER.NOTE_UNVERIFIED' });
  });

  it('rejects an ambiguous verifier list only when the note uses that key', () => {
    expect(verifyNote(`${TEXT}\n${ENOCH_SIG}`, [enoch, peter, enoch])).toMatchObject({
      code: 'LEDGER.NOTE_AMBIGUOUS_KEY',
    });
    expect(verifyNote(`${TEXT}\n${PETER_SIG}`, [enoch, peter, enoch]).ok).toBe(true);
  });

  it('rejects more than 16 signature lines (C2SP signed-note: a verifier must accept 16, may refuse more)', () => {
    expect(verifyNote(`${TEXT}\n${PETER_SIG.repeat(17)}`, [peter])).toMatchObject({
      code: 'LEDGER.NOTE_TOO_MANY_SIGNATURES',
    });
    expect(parseNote(`${TEXT}\n${ENOCH_SIG.repeat(9)}${PETER_SIG.repeat(8)}`)).toMatchObject({
      code: 'LEDGER.NOTE_TOO_MANY_SIGNATURES',
    });
    expect(verifyNote(`${TEXT}\n${PETER_SIG.repeat(16)}`, [peter]).ok).toBe(true);
  });

  it('rejects a bad signature by a known key', () => {
    const bad = `${TEXT}\n${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`;
    expect(verifyNote(bad, [peter])).toMatchObject({ code: 'LEDGER.NOTE_BAD_SIGNATURE' });
    // The same note text changed by one character.
    expect(verifyNote(`${TEXT.replace('cryptography', 'Cryptography')}\n${PETER_SIG}`, [peter])).toMatchObject({
      code: 'LEDGER.NOTE_BAD_SIGNATURE',
    });
  });

  it('rejects a note where a later signature by a known key is bad, even after a good one', () => {
    const bad = `${TEXT}\n${PETER_SIG}${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`;
    expect(verifyNote(bad, [peter])).toMatchObject({ code: 'LEDGER.NOTE_BAD_SIGNATURE' });
  });

  it('drops repeated signatures and keeps distinct unknown ones', () => {
    const enochAbcd = `${ENOCH_SIG.slice(0, 60)}ABCD${ENOCH_SIG.slice(60)}`;
    const note = `${TEXT}\n${PETER_SIG}${PETER_SIG}${ENOCH_SIG}${ENOCH_SIG}${enochAbcd}`;
    const result = verifyNote(note, [peter]);
    expect(result.ok && result.verified).toHaveLength(1);
    expect(result.ok && result.unverified).toHaveLength(2);
  });

  it.each<[string, string | Uint8Array]>([
    ['text only', TEXT],
    ['no signature after the blank line', `${TEXT}\n`],
    ['missing final newline', `${TEXT}\n${PETER_SIG.slice(0, -1)}`],
    ['a control character', `\u0001${TEXT}\n${PETER_SIG}`],
    ['invalid UTF-8', concatBytes([Uint8Array.of(0xff), utf8(`${TEXT}\n${PETER_SIG}`)])],
    [
      'a name with a space',
      `${TEXT}\n\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`,
    ],
    ['a line that is not a signature', `${TEXT}\n${PETER_SIG}Unexpected line.\n`],
    ['a hyphen instead of an em dash', `${TEXT}\n${PETER_SIG.replace('\u2014', '-')}`],
    ['non-canonical base64', `${TEXT}\n${PETER_SIG.replace('AM=', 'AN=')}`],
    ['a signature of only the key id', `${TEXT}\n\u2014 PeterNeumann x08gow==\n`],
    ['a lone surrogate', `\ud800${TEXT}\n${PETER_SIG}`],
  ])('rejects a malformed note: %s', (_name, note) => {
    expect(verifyNote(note, [peter])).toMatchObject({ ok: false, code: 'LEDGER.NOTE_MALFORMED' });
  });

  it('treats a signature whose name or key id differs from the known key as unknown', () => {
    const misnamed = PETER_SIG.replace('PeterNeumann', 'CarmenSandiego');
    expect(verifyNote(`${TEXT}\n${misnamed}`, [peter])).toMatchObject({ code: 'LEDGER.NOTE_UNVERIFIED' });
    const wrongId = PETER_SIG.replace('x08g', 'xxxx');
    expect(verifyNote(`${TEXT}\n${wrongId}`, [peter])).toMatchObject({ code: 'LEDGER.NOTE_UNVERIFIED' });
  });

  it('splits at the last blank line: the text may contain blank lines (C2SP signed-note example)', () => {
    const note =
      'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u00e8 subito sera.\n\n' +
      '\u2014 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n';
    const parsed = parseNote(note);
    expect(parsed.ok && parsed.value.text).toBe(
      'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u00e8 subito sera.\n',
    );
    expect(parsed.ok && parsed.value.signatures.map((s) => s.name)).toEqual(['quasimodo.example/salvatore']);
  });

  it('round-trips with fresh keys and several signers', () => {
    const signers: NoteSigner[] = ['log.example/a', 'witness.example/b'].map((name) =>
      createSigner(name, generateEd25519KeyPair().seed),
    );
    const note = signNote('hello\n\nworld\n', signers);
    const verifiers: NoteVerifier[] = signers.map((s) => ok(parseVerifierKey(verifierKey(s.name, s.publicKey))));
    const result = verifyNote(note, verifiers);
    expect(result).toMatchObject({ ok: true, text: 'hello\n\nworld\n' });
    expect(result.ok && result.verified).toHaveLength(2);
    // A signature moved to another key name is a signature by an unknown key.
    const [first] = signers as [NoteSigner];
    expect(verifyNote(note.replace(first.name, 'log.example/z'), [verifiers[0] as NoteVerifier]).ok).toBe(false);
  });

  it('never throws on crafted notes', () => {
    const samples: unknown[] = [
      undefined,
      null,
      42,
      {},
      '',
      '\n\n',
      '\n\n\u2014 \n',
      `${TEXT}\n\u2014 a ${toBase64(new Uint8Array(68))}\n`,
    ];
    for (const sample of samples) {
      expect(() => verifyNote(sample as string, [peter])).not.toThrow();
      expect(verifyNote(sample as string, [peter]).ok).toBe(false);
    }
  });
});

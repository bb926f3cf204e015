import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cosignatureKeyId,
  CosignatureFailure,
  cosignatureMessage,
  createWitnessSigner,
  parseCosignatureLines,
  parseWitnessKey,
  verifyCosignatures,
  verifyWitnessQuorum,
  witnessVerifierKey,
  type WitnessVerifier,
} from './cosignature';
import { fromBase64, toBase64 } from './encoding';
import { createSigner, keyId, NoteFailure, signNote } from './note';

function ok<T>(result: { ok: true; value: T } | { ok: false; code: string; reason: string }): T {
  if (!result.ok) throw new Error(`${result.code}: ${result.reason}`);
  return result.value;
}

// The checkpoint of C2SP tlog-checkpoint's and tlog-cosignature's examples.
const TEXT = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
const TIME = 1679315147; // tlog-cosignature's example timestamp

// Known answer computed independently with Python's `cryptography` (OpenSSL's Ed25519) from the spec's formulas:
// seed 00 01 .. 1f, name witness.example/w1, key id SHA-256(name || 0x0A || 0x04 || pub)[:4], the line
// base64(key id || u64be(TIME) || Ed25519(cosignature/v1\ntime TIME\n || TEXT)).
const SEED = Uint8Array.from({ length: 32 }, (_, i) => i);
const NAME = 'witness.example/w1';
const VKEY = 'witness.example/w1+e75f6532+BAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4';
const LINE =
  '\u2014 witness.example/w1 519lMgAAAABkGFDLBuRDazBLVac2NE+Y+IjbjQOcXLfF9CSDZVUIoS83rE1nFZsVE8YiWV6Ngr7lV8H6bdoBQGP/l73euDMQ9k+bBQ==\n';

const logKey = createSigner('example.com/behind-the-sofa', randomBytes(32));

describe('cosignature/v1 (C2SP tlog-cosignature)', () => {
  const signer = createWitnessSigner(NAME, SEED);
  const witness = ok(parseWitnessKey(VKEY));

  it('derives the key id and verifier key of the known answer', () => {
    expect(signer.keyId).toBe('e75f6532');
    expect(cosignatureKeyId(NAME, signer.publicKey)).toBe('e75f6532');
    expect(witnessVerifierKey(NAME, signer.publicKey)).toBe(VKEY);
    // Not the signed-note key id of the same key (type 0x01): a cosignature never passes for a note signature.
    expect(keyId(NAME, signer.publicKey)).not.toBe(signer.keyId);
  });

  it('accepts a cosignature/v1 vkey of another implementation (transparency-dev/formats note tests)', () => {
    const remora = ok(parseWitnessKey('remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2'));
    expect(remora.keyId).toBe('da77ade7');
  });

  it('signs the known-answer line byte for byte', () => {
    expect(signer.cosign(TEXT, TIME)).toBe(LINE);
  });

  it('is the worked example of docs/design/ledger-format.md §5b, verbatim', () => {
    const doc = readFileSync(join(__dirname, '../../../docs/design/ledger-format.md'), 'utf8');
    expect(doc).toContain(`\n${VKEY}\n`);
    expect(doc).toContain(`\n${LINE}`);
    expect(doc).toContain(`at time ${TIME} with the line`);
  });

  it('signs exactly "cosignature/v1\\ntime <t>\\n" followed by the body', () => {
    expect(Buffer.from(cosignatureMessage(TEXT, TIME)).toString()).toBe(`cosignature/v1\ntime 1679315147\n${TEXT}`);
  });

  it('verifies the known answer appended to a log-signed note, ignoring the log line', () => {
    const note = signNote(TEXT, [logKey]) + LINE;
    const verified = verifyCosignatures(note, [witness]);
    expect(verified).toMatchObject({ ok: true, text: TEXT });
    if (!verified.ok) return;
    expect(verified.cosignatures).toEqual([{ name: NAME, keyId: 'e75f6532', timestamp: TIME, line: LINE }]);
  });

  it('puts the timestamp big-endian after the key id', () => {
    const bytes = fromBase64(LINE.slice(`\u2014 ${NAME} `.length, -1)) as Uint8Array;
    expect(bytes.length).toBe(4 + 8 + 64);
    expect(Number(Buffer.from(bytes.subarray(4, 12)).readBigUInt64BE())).toBe(TIME);
  });

  it.each<[string, (line: string) => string]>([
    ['a changed signature byte', (line) => flip(line, -5)],
    ['a changed timestamp', (line) => flip(line, `\u2014 ${NAME} `.length + 10)],
    ['a truncated signature', (line) => `${line.slice(0, -9)}\n`],
  ])('rejects the note on %s by a pinned witness', (_what, tamper) => {
    const note = signNote(TEXT, [logKey]) + tamper(LINE);
    expect(verifyCosignatures(note, [witness])).toMatchObject({ ok: false, code: CosignatureFailure.BAD_COSIGNATURE });
  });

  it('rejects a cosignature of another checkpoint', () => {
    const other = TEXT.replace('20852163', '20852164');
    const note = signNote(other, [logKey]) + LINE;
    expect(verifyCosignatures(note, [witness])).toMatchObject({ ok: false, code: CosignatureFailure.BAD_COSIGNATURE });
  });

  it('does not take a plain note signature by the witness key for a cosignature', () => {
    const plain = createSigner(NAME, SEED);
    expect(verifyCosignatures(signNote(TEXT, [plain]), [witness])).toMatchObject({ ok: true, cosignatures: [] });
  });

  it('counts distinct witnesses towards a quorum', () => {
    const second = createWitnessSigner('witness.example/w2', randomBytes(32));
    const pinned: WitnessVerifier[] = [witness, ok(parseWitnessKey(witnessVerifierKey(second.name, second.publicKey)))];
    const once = signNote(TEXT, [logKey]) + LINE + LINE;
    expect(verifyWitnessQuorum(once, pinned, 1)).toMatchObject({ ok: true });
    expect(verifyWitnessQuorum(once, pinned, 2)).toMatchObject({ ok: false, code: CosignatureFailure.NO_QUORUM });
    const twice = once + second.cosign(TEXT, TIME + 1);
    expect(verifyWitnessQuorum(twice, pinned, 2)).toMatchObject({ ok: true });
    expect(verifyWitnessQuorum(signNote(TEXT, [logKey]), pinned, 0)).toMatchObject({ ok: true });
  });

  it('refuses a malformed note', () => {
    expect(verifyCosignatures(`${TEXT}${LINE}`, [witness])).toMatchObject({ ok: false, code: NoteFailure.MALFORMED });
  });

  it.each<[string, string, string]>([
    [
      'a signed-note key (type 0x01)',
      'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      CosignatureFailure.MALFORMED_KEY,
    ],
    ['a wrong key id', VKEY.replace('e75f6532', 'e75f6533'), CosignatureFailure.KEY_ID_MISMATCH],
    ['two parts', 'witness.example/w1+e75f6532', CosignatureFailure.MALFORMED_KEY],
    ['a short key', 'w+00000000+BAAA', CosignatureFailure.MALFORMED_KEY],
  ])('refuses %s as a witness key', (_what, vkey, code) => {
    expect(parseWitnessKey(vkey)).toMatchObject({ ok: false, code });
  });

  it('refuses to cosign at time 0 (tlog-witness: the timestamp MUST NOT be zero)', () => {
    expect(() => signer.cosign(TEXT, 0)).toThrow(/positive/);
  });

  it('splits a witness answer into lines and refuses anything else', () => {
    expect(ok(parseCosignatureLines(LINE + LINE))).toEqual([LINE, LINE]);
    expect(parseCosignatureLines('')).toMatchObject({ ok: false, code: CosignatureFailure.MALFORMED_LINES });
    expect(parseCosignatureLines('hello\n')).toMatchObject({ ok: false, code: CosignatureFailure.MALFORMED_LINES });
    expect(parseCosignatureLines(LINE.slice(0, -1))).toMatchObject({ ok: false });
  });

  it('round-trips with a fresh key', () => {
    const fresh = createWitnessSigner('medledger.local/records/witness', randomBytes(32));
    const pinned = ok(parseWitnessKey(witnessVerifierKey(fresh.name, fresh.publicKey)));
    const note = signNote(TEXT, [logKey]) + fresh.cosign(TEXT, Math.floor(Date.now() / 1000));
    expect(verifyWitnessQuorum(note, [pinned], 1)).toMatchObject({ ok: true });
  });
});

function flip(line: string, at: number): string {
  const prefix = line.lastIndexOf(' ') + 1;
  const bytes = fromBase64(line.slice(prefix, -1)) as Uint8Array;
  const index = at < 0 ? bytes.length + at : Math.floor(((at - prefix) * 3) / 4);
  bytes[index] = (bytes[index] as number) ^ 1;
  return `${line.slice(0, prefix)}${toBase64(bytes)}\n`;
}

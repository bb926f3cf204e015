import { type KeyObject } from 'node:crypto';

import {
  bytesEqual,
  concatBytes,
  decodeUtf8Strict,
  fromBase64,
  hasControlCharacter,
  isWellFormedUnicode,
  toBase64,
  toHex,
  utf8,
} from './encoding';
import { fail, type Failure, LedgerCoreError, LedgerErrorCode, type Parsed } from './errors';
import { sha256 } from './hash';
import {
  ED25519_PUBLIC_KEY_SIZE,
  ED25519_SEED_SIZE,
  ED25519_SIGNATURE_SIZE,
  ed25519PublicKeyFromSeed,
  ed25519Sign,
  ed25519Verify,
  privateKeyObject,
} from './keys';

/**
 * Signed notes. SPEC: C2SP signed-note (c2sp.org/signed-note), compatible with golang.org/x/mod/sumdb/note.
 *
 *     <text, ending in \n>
 *     <blank line>
 *     — <key name> <base64(4-byte key id || signature)>\n   (one or more)
 *
 * Only Ed25519 (signature type 0x01) is supported, as the spec recommends picking one type.
 */

/** SPEC: C2SP signed-note, "Signature types": 0x01 is Ed25519. */
export const ED25519_SIGNATURE_TYPE = 0x01;

/**
 * Most signature lines a note may carry. SPEC: C2SP signed-note, "Format": verifiers SHOULD limit the number of
 * signatures and MUST accept at least 16. 16 it is: a note of ours carries one signature (a producer batch, a
 * ledger checkpoint) plus, at most, a witness quorum's cosignatures; and a note of 100 copies of one line (Go's
 * limit) must not cost the ledger's edge 100 parses for each event that carries it. Every note within it is also
 * within golang.org/x/mod/sumdb/note's 100.
 */
export const NOTE_MAX_SIGNATURES = 16;

// SPEC: C2SP signed-note, "Format": each signature line starts with U+2014 EM DASH and U+0020 SPACE.
const SIGNATURE_PREFIX = '\u2014 ';
const KEY_ID_SIZE = 4;

/** Why a note or key did not parse or verify. */
export const NoteFailure = {
  /** Not a well-formed signed note (encoding, control characters, layout, names, base64). */
  MALFORMED: 'LEDGER.NOTE_MALFORMED',
  /** More than NOTE_MAX_SIGNATURES signature lines (refused before any signature is verified). */
  TOO_MANY_SIGNATURES: 'LEDGER.NOTE_TOO_MANY_SIGNATURES',
  /**
   * A signature by a known key (name and key id match) does not verify, or a second line by that key carries
   * another signature than its first: the whole note is rejected.
   */
  BAD_SIGNATURE: 'LEDGER.NOTE_BAD_SIGNATURE',
  /** No signature is by a known key. */
  UNVERIFIED: 'LEDGER.NOTE_UNVERIFIED',
  /** Two known keys share the note's name and key id. */
  AMBIGUOUS_KEY: 'LEDGER.NOTE_AMBIGUOUS_KEY',
  /** A verifier or signer key string that does not parse. */
  MALFORMED_KEY: 'LEDGER.NOTE_MALFORMED_KEY',
  /** A key string whose key id is not the hash of its name and key. */
  KEY_ID_MISMATCH: 'LEDGER.NOTE_KEY_ID_MISMATCH',
  /** A key of a signature type other than Ed25519. */
  UNKNOWN_ALGORITHM: 'LEDGER.NOTE_UNKNOWN_ALGORITHM',
} as const;
export type NoteFailureCode = (typeof NoteFailure)[keyof typeof NoteFailure];

/** A public key that may verify note signatures. */
export interface NoteVerifier {
  readonly name: string;
  /** 8 lower-case hex digits: `keyId(name, publicKey)`. */
  readonly keyId: string;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

/** A key that signs notes (and block headers). It carries its public half, so it is also a NoteVerifier. */
export interface NoteSigner extends NoteVerifier {
  sign(message: Uint8Array): Uint8Array;
}

export interface NoteSignature {
  readonly name: string;
  readonly keyId: string;
  /** The signature bytes, without the 4-byte key id. */
  readonly signature: Uint8Array;
}

export interface ParsedNote {
  /** The signed text, including its final newline. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

export interface VerifiedNote {
  readonly text: string;
  /** Signatures by known keys, each key once, all verified. */
  readonly verified: readonly NoteSignature[];
  /** Signatures by keys not in the verifier list, each distinct line once; ignored as the spec requires. */
  readonly unverified: readonly NoteSignature[];
}

// SPEC: C2SP signed-note: notes "MUST NOT contain any ASCII control characters (those below U+0020) other than
// newline".
const hasForbiddenControl = (text: string): boolean => hasControlCharacter(text, true);

// SPEC: C2SP signed-note: "Key names MUST be non-empty and MUST NOT contain any Unicode spaces or plus (U+002B)".
// JavaScript's \s covers Unicode White_Space except U+0085, added here as Go's unicode.IsSpace has it.
const UNICODE_SPACE = /[\s\u0085]/u;
export function isValidKeyName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    isWellFormedUnicode(name) &&
    !UNICODE_SPACE.test(name) &&
    !name.includes('+') &&
    !hasControlCharacter(name, false)
  );
}

function assertName(name: unknown): asserts name is string {
  if (!isValidKeyName(name)) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_KEY, 'key name must be non-empty, without spaces or "+"');
  }
}

function assertPublicKey(publicKey: unknown): asserts publicKey is Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_SIZE) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_KEY, 'Ed25519 public key must be 32 bytes');
  }
}

function keyIdOfEncodedKey(name: string, encodedKey: Uint8Array): string {
  return toHex(sha256(utf8(name), Uint8Array.of(0x0a), encodedKey).subarray(0, KEY_ID_SIZE));
}

/**
 * SPEC: C2SP signed-note, "Ed25519 signatures": key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public
 * key)[:4], returned as 8 lower-case hex digits (big-endian, as in verifier keys).
 */
export function keyId(name: string, publicKey: Uint8Array): string {
  assertName(name);
  assertPublicKey(publicKey);
  return keyIdOfEncodedKey(name, concatBytes([Uint8Array.of(ED25519_SIGNATURE_TYPE), publicKey]));
}

/** The verifier key string `<name>+<key id hex>+<base64(0x01 || public key)>` (as note.NewEd25519VerifierKey). */
export function verifierKey(name: string, publicKey: Uint8Array): string {
  const id = keyId(name, publicKey);
  return `${name}+${id}+${toBase64(concatBytes([Uint8Array.of(ED25519_SIGNATURE_TYPE), publicKey]))}`;
}

/** Splits at the first `separator` (as Go's chop). */
function chop(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + separator.length)];
}

/** Name, key id and the encoded key (type byte + key) of `<name>+<hex id>+<base64 key>`, checked. */
function parseKeyTriple(
  text: string,
  what: string,
): Parsed<{ name: string; id: string; key: Uint8Array }, NoteFailureCode> {
  const [name, rest] = chop(text, '+');
  const [id, key64] = chop(rest, '+');
  const key = fromBase64(key64);
  if (!isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(id) || !key || key.length === 0) {
    return fail(NoteFailure.MALFORMED_KEY, `${what} must be <name>+<8 hex key id>+<base64 key>`);
  }
  if (key[0] !== ED25519_SIGNATURE_TYPE) return fail(NoteFailure.UNKNOWN_ALGORITHM, `${what} is not an Ed25519 key`);
  if (key.length !== 1 + ED25519_PUBLIC_KEY_SIZE) return fail(NoteFailure.MALFORMED_KEY, `${what} has a bad length`);
  return { ok: true, value: { name, id, key } };
}

/** Parses a verifier key string; checks the key id against name and key. */
export function parseVerifierKey(vkey: string): Parsed<NoteVerifier, NoteFailureCode> {
  if (typeof vkey !== 'string') return fail(NoteFailure.MALFORMED_KEY, 'verifier key must be a string');
  const parsed = parseKeyTriple(vkey, 'verifier key');
  if (!parsed.ok) return parsed;
  const { name, id, key } = parsed.value;
  if (keyIdOfEncodedKey(name, key) !== id) return fail(NoteFailure.KEY_ID_MISMATCH, `key id ${id} does not match`);
  return { ok: true, value: { name, keyId: id, publicKey: key.slice(1) } };
}

class Ed25519NoteSigner implements NoteSigner {
  readonly keyId: string;
  readonly publicKey: Uint8Array;
  private readonly privateKey: KeyObject;

  constructor(
    readonly name: string,
    seed: Uint8Array,
  ) {
    this.privateKey = privateKeyObject(seed);
    this.publicKey = ed25519PublicKeyFromSeed(seed);
    this.keyId = keyId(name, this.publicKey);
  }

  sign(message: Uint8Array): Uint8Array {
    return ed25519Sign(this.privateKey, message);
  }
}

/** A signer for key `name` from a raw 32-byte Ed25519 seed. */
export function createSigner(name: string, seed: Uint8Array): NoteSigner {
  assertName(name);
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_SIZE) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_KEY, 'Ed25519 seed must be 32 bytes');
  }
  return new Ed25519NoteSigner(name, seed);
}

/**
 * The secret signer key string `PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || seed)>`, the format of
 * golang.org/x/mod/sumdb/note.GenerateKey, so keys can move between this code and Go tooling.
 */
export function signerKey(name: string, seed: Uint8Array): string {
  const signer = createSigner(name, seed);
  return `PRIVATE+KEY+${name}+${signer.keyId}+${toBase64(concatBytes([Uint8Array.of(ED25519_SIGNATURE_TYPE), seed]))}`;
}

/** Parses a signer key string (see `signerKey`); checks the key id against the derived public key. */
export function parseSignerKey(skey: string): Parsed<NoteSigner, NoteFailureCode> {
  if (typeof skey !== 'string' || !skey.startsWith('PRIVATE+KEY+')) {
    return fail(NoteFailure.MALFORMED_KEY, 'signer key must start with PRIVATE+KEY+');
  }
  const parsed = parseKeyTriple(skey.slice('PRIVATE+KEY+'.length), 'signer key');
  if (!parsed.ok) return parsed;
  const { name, id, key } = parsed.value;
  const signer = createSigner(name, key.slice(1));
  if (signer.keyId !== id) return fail(NoteFailure.KEY_ID_MISMATCH, `key id ${id} does not match the key`);
  return { ok: true, value: signer };
}

function assertSignableText(text: unknown): asserts text is string {
  if (
    typeof text !== 'string' ||
    text.length === 0 ||
    !text.endsWith('\n') ||
    !isWellFormedUnicode(text) ||
    hasForbiddenControl(text)
  ) {
    throw new LedgerCoreError(
      LedgerErrorCode.INVALID_NOTE,
      'note text must be non-empty, end with a newline and have no control characters but newline',
    );
  }
}

/**
 * Signs `text` (which must end with a newline) with each signer, in order.
 * SPEC: C2SP signed-note, "Format" and "Signatures": text, blank line, one `— <name> <base64>` line per signer.
 */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  assertSignableText(text);
  if (signers.length === 0) throw new LedgerCoreError(LedgerErrorCode.INVALID_NOTE, 'a note needs a signer');
  const seen = new Set<string>();
  const message = utf8(text);
  const lines = signers.map((signer) => {
    assertName(signer.name);
    const key = `${signer.name}+${signer.keyId}`;
    if (!/^[0-9a-f]{8}$/.test(signer.keyId) || seen.has(key)) {
      throw new LedgerCoreError(LedgerErrorCode.INVALID_KEY, `signer ${key} is malformed or repeated`);
    }
    seen.add(key);
    const signature = concatBytes([Buffer.from(signer.keyId, 'hex'), signer.sign(message)]);
    return `${SIGNATURE_PREFIX}${signer.name} ${toBase64(signature)}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

/** Parses a signed note without verifying anything. Never throws. */
export function parseNote(note: string | Uint8Array): Parsed<ParsedNote, NoteFailureCode> {
  const malformed = (reason: string): Failure<NoteFailureCode> => fail(NoteFailure.MALFORMED, reason);
  let message: string | undefined;
  if (note instanceof Uint8Array) {
    message = decodeUtf8Strict(note);
    if (message === undefined) return malformed('note is not valid UTF-8');
  } else if (typeof note === 'string') {
    if (!isWellFormedUnicode(note)) return malformed('note is not valid Unicode');
    message = note;
  } else {
    return malformed('note must be a string or bytes');
  }
  if (hasForbiddenControl(message)) return malformed('note contains a control character other than newline');

  // SPEC: C2SP signed-note: "the text is separated from the signatures by the last empty line in the note".
  const split = message.lastIndexOf('\n\n');
  if (split < 0) return malformed('note has no blank line before its signatures');
  const text = message.slice(0, split + 1);
  const block = message.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) return malformed('signature block must end with a newline');

  const lines = block.slice(0, -1).split('\n');
  if (lines.length > NOTE_MAX_SIGNATURES) {
    return fail(NoteFailure.TOO_MANY_SIGNATURES, `more than ${NOTE_MAX_SIGNATURES} signatures`);
  }
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    if (!line.startsWith(SIGNATURE_PREFIX)) return malformed('signature line must start with "— "');
    const [name, b64] = chop(line.slice(SIGNATURE_PREFIX.length), ' ');
    const bytes = fromBase64(b64);
    if (!isValidKeyName(name) || !bytes || bytes.length <= KEY_ID_SIZE) {
      return malformed(`bad signature line for ${JSON.stringify(name)}`);
    }
    signatures.push({ name, keyId: toHex(bytes.subarray(0, KEY_ID_SIZE)), signature: bytes.slice(KEY_ID_SIZE) });
  }
  return { ok: true, value: { text, signatures } };
}

function assertVerifier(verifier: NoteVerifier, i: number): void {
  if (!isValidKeyName(verifier.name) || !/^[0-9a-f]{8}$/.test(verifier.keyId)) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_KEY, `verifiers[${i}] is malformed`);
  }
  assertPublicKey(verifier.publicKey);
}

/**
 * Parses a note and verifies its signatures against known keys.
 * SPEC: C2SP signed-note, "Signatures": signatures by unknown keys (name and key id not both matching) are
 * ignored; every signature by a known key is verified and one failure rejects the note; a note with no verified
 * signature is rejected. The verifier list is trusted configuration: a malformed entry throws.
 *
 * Each known (name, key id) costs at most one Ed25519 verification, however many lines name it: a copy of the
 * line already verified says nothing new, and a line with another signature by the same key is refused unverified
 * (BAD_SIGNATURE), since RFC 8032 Ed25519 signs a text one way only (§5.1.6: the nonce is derived from the key and
 * the message), so two different signatures by one key over one text cannot both come from an honest signer.
 */
export function verifyNote(
  note: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
): ({ readonly ok: true } & VerifiedNote) | Failure<NoteFailureCode> {
  verifiers.forEach(assertVerifier);
  const parsed = parseNote(note);
  if (!parsed.ok) return parsed;
  const { text, signatures } = parsed.value;
  const message = utf8(text);
  const verified = new Map<string, NoteSignature>();
  const unverified = new Map<string, NoteSignature>();
  for (const signature of signatures) {
    const key = `${signature.name}+${signature.keyId}`;
    const already = verified.get(key);
    if (already) {
      if (bytesEqual(already.signature, signature.signature)) continue;
      return fail(NoteFailure.BAD_SIGNATURE, `two different signatures for key ${key}`);
    }
    const known = verifiers.filter((v) => v.name === signature.name && v.keyId === signature.keyId);
    if (known.length === 0) {
      unverified.set(`${key} ${toBase64(signature.signature)}`, signature);
      continue;
    }
    if (known.length > 1) return fail(NoteFailure.AMBIGUOUS_KEY, `more than one known key is ${key}`);
    const [verifier] = known as [NoteVerifier];
    const valid =
      signature.signature.length === ED25519_SIGNATURE_SIZE &&
      ed25519Verify(verifier.publicKey, message, signature.signature);
    if (!valid) return fail(NoteFailure.BAD_SIGNATURE, `invalid signature for key ${key}`);
    verified.set(key, signature);
  }
  if (verified.size === 0) return fail(NoteFailure.UNVERIFIED, 'no signature by a known key');
  return { ok: true, text, verified: [...verified.values()], unverified: [...unverified.values()] };
}

import { type KeyObject } from 'node:crypto';

import { concatBytes, fromBase64, toBase64, toHex, utf8 } from './encoding';
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
import { isValidKeyName, parseNote, type NoteFailureCode } from './note';

/**
 * Witness cosignatures. SPEC: C2SP tlog-cosignature (c2sp.org/tlog-cosignature), the Ed25519 type
 * ("cosignature/v1"): a signed-note signature line whose bytes are a timestamped signature over
 *
 *     cosignature/v1\n
 *     time <POSIX seconds>\n
 *     <the checkpoint body, with its final newline>
 *
 * A witness that cosigns a checkpoint states that, at that time, this is the largest tree it has seen for the
 * origin and that it is consistent with every tree it cosigned before (C2SP tlog-witness). Ed25519, not the
 * ML-DSA-44 type the spec recommends for new deployments: node:crypto signs Ed25519 with no dependency, every
 * other signature of this codebase is Ed25519, and the witnesses here guard against a split view today (ADR 0012).
 */

/** SPEC: C2SP tlog-cosignature, "Format": the key id algorithm byte (and vkey type) of Ed25519 cosignatures. */
export const COSIGNATURE_V1_TYPE = 0x04;

/** SPEC: C2SP tlog-cosignature: the signature is a `timestamped_signature` = u64 timestamp || Ed25519 signature. */
const TIMESTAMP_SIZE = 8;
const KEY_ID_SIZE = 4;
/** SPEC: C2SP tlog-cosignature: "It MUST NOT exceed 2^63 - 1". */
const MAX_TIMESTAMP = 2n ** 63n - 1n;
const SIGNATURE_PREFIX = '\u2014 ';

export const CosignatureFailure = {
  /** A witness key string that does not parse, or is not of type 0x04. */
  MALFORMED_KEY: 'LEDGER.COSIGNATURE_MALFORMED_KEY',
  /** A witness key string whose key id is not SHA-256(name || 0x0A || 0x04 || key)[:4]. */
  KEY_ID_MISMATCH: 'LEDGER.COSIGNATURE_KEY_ID_MISMATCH',
  /** A line by a pinned witness key (name and key id match) that is not a valid cosignature of the note's text. */
  BAD_COSIGNATURE: 'LEDGER.COSIGNATURE_BAD',
  /** Fewer distinct pinned witness keys cosigned the note than the quorum asks. */
  NO_QUORUM: 'LEDGER.COSIGNATURE_NO_QUORUM',
  /** Cosignature lines (a witness's answer) that are not `— <name> <base64>` lines. */
  MALFORMED_LINES: 'LEDGER.COSIGNATURE_MALFORMED_LINES',
} as const;
export type CosignatureFailureCode = (typeof CosignatureFailure)[keyof typeof CosignatureFailure];

/** A witness's public key, for cosignature/v1. */
export interface WitnessVerifier {
  readonly name: string;
  /** 8 lower-case hex digits: {@link cosignatureKeyId}. */
  readonly keyId: string;
  readonly publicKey: Uint8Array;
}

/** A witness's signing key: it cosigns checkpoint bodies. */
export interface WitnessSigner extends WitnessVerifier {
  /** The signature line `— <name> base64(key id || u64 timestamp || signature)\n` over `text` at `timestamp`. */
  cosign(text: string, timestamp: number): string;
}

/** One valid cosignature by a pinned witness key. */
export interface Cosignature {
  readonly name: string;
  readonly keyId: string;
  /** POSIX seconds. */
  readonly timestamp: number;
  /** The whole signature line, with its final newline (to append to the checkpoint note). */
  readonly line: string;
}

/**
 * SPEC: C2SP tlog-cosignature, "Format": key ID = SHA-256(<name> || "\n" || 0x04 || 32-byte Ed25519 public
 * key)[:4], as 8 lower-case hex digits. It differs from the same key's signed-note key id (type 0x01), so a
 * witness's cosignature line is never taken for a plain note signature, nor the other way round.
 */
export function cosignatureKeyId(name: string, publicKey: Uint8Array): string {
  assertWitnessKey(name, publicKey);
  return keyIdOf(name, publicKey);
}

function keyIdOf(name: string, publicKey: Uint8Array): string {
  return toHex(sha256(utf8(name), Uint8Array.of(0x0a, COSIGNATURE_V1_TYPE), publicKey).subarray(0, KEY_ID_SIZE));
}

function assertWitnessKey(name: unknown, publicKey: unknown): asserts publicKey is Uint8Array {
  if (!isValidKeyName(name)) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_KEY, 'witness name must be non-empty, without spaces or "+"');
  }
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_SIZE) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_KEY, 'Ed25519 public key must be 32 bytes');
  }
}

/**
 * The witness's verifier key `<name>+<key id>+<base64(0x04 || public key)>`. SPEC: C2SP tlog-cosignature: "Ed25519
 * public keys MAY be encoded as vkeys with signature type 0x04" (C2SP signed-note, "Verifier keys").
 */
export function witnessVerifierKey(name: string, publicKey: Uint8Array): string {
  const id = cosignatureKeyId(name, publicKey);
  return `${name}+${id}+${toBase64(concatBytes([Uint8Array.of(COSIGNATURE_V1_TYPE), publicKey]))}`;
}

/** Parses a witness verifier key (type 0x04) and checks its key id. Never throws. */
export function parseWitnessKey(vkey: string): Parsed<WitnessVerifier, CosignatureFailureCode> {
  if (typeof vkey !== 'string') return fail(CosignatureFailure.MALFORMED_KEY, 'witness key must be a string');
  // <name>+<hex id>+<base64>: the name holds no '+', base64 may.
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) return fail(CosignatureFailure.MALFORMED_KEY, 'witness key must be <name>+<key id>+<base64 key>');
  const [name, id, key] = [vkey.slice(0, first), vkey.slice(first + 1, second), fromBase64(vkey.slice(second + 1))];
  if (!isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(id) || !key) {
    return fail(CosignatureFailure.MALFORMED_KEY, 'witness key must be <name>+<8 hex key id>+<base64 key>');
  }
  if (key[0] !== COSIGNATURE_V1_TYPE || key.length !== 1 + ED25519_PUBLIC_KEY_SIZE) {
    return fail(CosignatureFailure.MALFORMED_KEY, 'witness key must be of type 0x04 (Ed25519 cosignature/v1)');
  }
  const publicKey = key.slice(1);
  if (keyIdOf(name, publicKey) !== id) return fail(CosignatureFailure.KEY_ID_MISMATCH, `key id ${id} does not match`);
  return { ok: true, value: { name, keyId: id, publicKey } };
}

/**
 * SPEC: C2SP tlog-cosignature, "Ed25519 signed message": `cosignature/v1\n`, `time <timestamp>\n` (decimal, no
 * leading zeros), then the whole checkpoint body including its final newline.
 */
export function cosignatureMessage(text: string, timestamp: number | bigint): Uint8Array {
  return utf8(`cosignature/v1\ntime ${BigInt(timestamp).toString()}\n${text}`);
}

class Ed25519WitnessSigner implements WitnessSigner {
  readonly keyId: string;
  readonly publicKey: Uint8Array;
  private readonly privateKey: KeyObject;

  constructor(
    readonly name: string,
    seed: Uint8Array,
  ) {
    this.privateKey = privateKeyObject(seed);
    this.publicKey = ed25519PublicKeyFromSeed(seed);
    this.keyId = cosignatureKeyId(name, this.publicKey);
  }

  cosign(text: string, timestamp: number): string {
    // SPEC: C2SP tlog-witness: "The cosignature MUST NOT omit the timestamp, i.e. the timestamp MUST NOT be zero."
    if (!Number.isSafeInteger(timestamp) || timestamp <= 0) {
      throw new LedgerCoreError(LedgerErrorCode.INVALID_ARGUMENT, 'cosignature timestamp must be positive seconds');
    }
    if (typeof text !== 'string' || !text.endsWith('\n')) {
      throw new LedgerCoreError(LedgerErrorCode.INVALID_NOTE, 'a checkpoint body ends with a newline');
    }
    const time = new Uint8Array(TIMESTAMP_SIZE);
    new DataView(time.buffer).setBigUint64(0, BigInt(timestamp));
    const signature = ed25519Sign(this.privateKey, cosignatureMessage(text, timestamp));
    const bytes = concatBytes([Buffer.from(this.keyId, 'hex'), time, signature]);
    return `${SIGNATURE_PREFIX}${this.name} ${toBase64(bytes)}\n`;
  }
}

/** A witness signer for name `name` from a raw 32-byte Ed25519 seed. */
export function createWitnessSigner(name: string, seed: Uint8Array): WitnessSigner {
  if (!isValidKeyName(name)) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_KEY, 'witness name must be non-empty, without spaces or "+"');
  }
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_SIZE) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_KEY, 'Ed25519 seed must be 32 bytes');
  }
  return new Ed25519WitnessSigner(name, seed);
}

export type VerifiedCosignatures = {
  readonly ok: true;
  /** The note's text (the checkpoint body). */
  readonly text: string;
  /** One per pinned witness key that cosigned, all verified. */
  readonly cosignatures: readonly Cosignature[];
};

/**
 * The valid cosignatures of a signed note (a checkpoint) by pinned witness keys. Lines by other keys (the log's own
 * signature, witnesses not pinned) are ignored; a line by a pinned key that does not verify rejects the note, as
 * C2SP signed-note requires of a known key. Never throws on a crafted note; the witness list is trusted
 * configuration. A key's copies of one line count once; two different valid lines by one key (two timestamps) count
 * once too, the newest kept.
 */
export function verifyCosignatures(
  note: string | Uint8Array,
  witnesses: readonly WitnessVerifier[],
): VerifiedCosignatures | Failure<CosignatureFailureCode | NoteFailureCode> {
  const parsed = parseNote(note);
  if (!parsed.ok) return parsed;
  const { text, signatures } = parsed.value;
  const found = new Map<string, Cosignature>();
  for (const signature of signatures) {
    const witness = witnesses.find((w) => w.name === signature.name && w.keyId === signature.keyId);
    if (!witness) continue;
    const bytes = signature.signature;
    const bad = (reason: string) =>
      fail(CosignatureFailure.BAD_COSIGNATURE, `cosignature by ${witness.name}+${witness.keyId}: ${reason}`);
    if (bytes.length !== TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE) return bad('not a timestamped Ed25519 signature');
    const timestamp = new DataView(bytes.buffer, bytes.byteOffset, TIMESTAMP_SIZE).getBigUint64(0);
    if (timestamp > MAX_TIMESTAMP || timestamp > BigInt(Number.MAX_SAFE_INTEGER)) return bad('timestamp out of range');
    if (!ed25519Verify(witness.publicKey, cosignatureMessage(text, timestamp), bytes.subarray(TIMESTAMP_SIZE))) {
      return bad('signature does not verify');
    }
    const key = `${witness.name}+${witness.keyId}`;
    const previous = found.get(key);
    if (previous && previous.timestamp >= Number(timestamp)) continue;
    const line = `${SIGNATURE_PREFIX}${signature.name} ${toBase64(concatBytes([Buffer.from(signature.keyId, 'hex'), bytes]))}\n`;
    found.set(key, { name: witness.name, keyId: witness.keyId, timestamp: Number(timestamp), line });
  }
  return { ok: true, text, cosignatures: [...found.values()] };
}

/**
 * Whether at least `quorum` distinct pinned witness keys validly cosigned the note (a checkpoint). A verifier pins
 * the witnesses and the quorum; a checkpoint without it may be a view shown to this client alone (a split view).
 */
export function verifyWitnessQuorum(
  note: string | Uint8Array,
  witnesses: readonly WitnessVerifier[],
  quorum: number,
): VerifiedCosignatures | Failure<CosignatureFailureCode | NoteFailureCode> {
  if (!Number.isSafeInteger(quorum) || quorum < 0) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_ARGUMENT, 'quorum must be a non-negative integer');
  }
  const verified = verifyCosignatures(note, witnesses);
  if (!verified.ok) return verified;
  if (verified.cosignatures.length < quorum) {
    const by = verified.cosignatures.map((c) => c.name).join(', ') || 'none';
    return fail(
      CosignatureFailure.NO_QUORUM,
      `${verified.cosignatures.length} of the ${quorum} witness cosignatures needed (cosigned by: ${by})`,
    );
  }
  return verified;
}

/**
 * Splits a witness's add-checkpoint answer (one or more signature lines, each ending in a newline; SPEC: C2SP
 * tlog-witness, "add-checkpoint") into lines to append to the checkpoint note. Nothing is verified here: append
 * them and call {@link verifyCosignatures}.
 */
export function parseCosignatureLines(body: string): Parsed<string[], CosignatureFailureCode> {
  if (typeof body !== 'string' || body.length === 0 || !body.endsWith('\n')) {
    return fail(CosignatureFailure.MALFORMED_LINES, 'the answer must be signature lines, each ending in a newline');
  }
  const lines = body
    .slice(0, -1)
    .split('\n')
    .map((line) => `${line}\n`);
  for (const line of lines) {
    const space = line.indexOf(' ', SIGNATURE_PREFIX.length);
    const name = line.slice(SIGNATURE_PREFIX.length, space);
    if (
      !line.startsWith(SIGNATURE_PREFIX) ||
      space < 0 ||
      !isValidKeyName(name) ||
      !fromBase64(line.slice(space + 1, -1))
    ) {
      return fail(CosignatureFailure.MALFORMED_LINES, `not a signature line: ${JSON.stringify(line.slice(0, 80))}`);
    }
  }
  return { ok: true, value: lines };
}

import { fromBase64, hasControlCharacter, isWellFormedUnicode, toBase64 } from './encoding';
import { fail, type Failure, LedgerCoreError, LedgerErrorCode, type Parsed } from './errors';
import { HASH_SIZE } from './hash';
import { isHash } from './merkle';
import {
  type NoteFailureCode,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  signNote,
  verifyNote,
} from './note';
import { isCount, MAX_TREE_SIZE } from './tree-math';

/**
 * Transparency log checkpoints. SPEC: C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): a signed note whose text
 * is `<origin>\n<decimal tree size>\n<base64 root hash>\n` followed by optional non-empty extension lines.
 */
export interface Checkpoint {
  /** Unique identity of the log, e.g. `medledger.example/ledger`. */
  readonly origin: string;
  readonly size: number;
  /** SPEC: RFC 6962 §2.1 root hash at `size`. */
  readonly root: Uint8Array;
  /** Opaque extension lines (NOT RECOMMENDED by the spec; empty for our logs). */
  readonly extensions: readonly string[];
}

export const CheckpointFailure = {
  /** The text is not a checkpoint body: lines, size syntax, root encoding. */
  MALFORMED: 'LEDGER.CHECKPOINT_MALFORMED',
  /** A well-formed size above 2^53 − 1, which this implementation cannot represent exactly. */
  SIZE_TOO_LARGE: 'LEDGER.CHECKPOINT_SIZE_TOO_LARGE',
  /** A valid checkpoint for a different log than the one expected. */
  ORIGIN_MISMATCH: 'LEDGER.CHECKPOINT_ORIGIN_MISMATCH',
} as const;
export type CheckpointFailureCode = (typeof CheckpointFailure)[keyof typeof CheckpointFailure];

// SPEC: C2SP tlog-checkpoint: "the ASCII decimal representation of the number of leaves in the tree, with no
// leading zeroes (unless the tree is empty, in which case the tree size is 0)".
const TREE_SIZE = /^(?:0|[1-9][0-9]*)$/;

function isLine(value: unknown): value is string {
  return (
    typeof value === 'string' && value.length > 0 && !hasControlCharacter(value, false) && isWellFormedUnicode(value)
  );
}

/** The checkpoint body (the note text). Throws `LEDGER.INVALID_CHECKPOINT` on a value it cannot represent. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, root, extensions } = checkpoint;
  if (!isLine(origin)) throw invalid('origin must be a non-empty line');
  if (!isCount(size)) throw invalid('size must be an integer in [0, 2^53 - 1]');
  if (!isHash(root)) throw invalid('root must be 32 bytes');
  if (!extensions.every(isLine)) throw invalid('extension lines must be non-empty lines');
  return [origin, String(size), toBase64(root), ...extensions].map((line) => `${line}\n`).join('');
}

function invalid(reason: string): LedgerCoreError {
  return new LedgerCoreError(LedgerErrorCode.INVALID_CHECKPOINT, reason);
}

/** Parses a checkpoint body strictly. Never throws. SPEC: C2SP tlog-checkpoint, "Note text". */
export function parseCheckpoint(text: string): Parsed<Checkpoint, CheckpointFailureCode> {
  const malformed = (reason: string): Failure<CheckpointFailureCode> => fail(CheckpointFailure.MALFORMED, reason);
  if (typeof text !== 'string' || !text.endsWith('\n')) return malformed('checkpoint must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (origin === undefined || sizeText === undefined || rootText === undefined) {
    return malformed('checkpoint needs origin, size and root lines');
  }
  if (!lines.every(isLine)) return malformed('every line must be non-empty, without control characters');
  if (!TREE_SIZE.test(sizeText)) return malformed('size must be decimal digits without leading zeros');
  if (BigInt(sizeText) > BigInt(MAX_TREE_SIZE)) {
    return fail(CheckpointFailure.SIZE_TOO_LARGE, `size ${sizeText} is above 2^53 - 1`);
  }
  const root = fromBase64(rootText, HASH_SIZE);
  if (!root) return malformed('root must be the base64 of 32 bytes');
  return { ok: true, value: { origin, size: Number(sizeText), root, extensions } };
}

/** The signed checkpoint note. SPEC: C2SP tlog-checkpoint, "Signatures" (on top of C2SP signed-note). */
export function signCheckpoint(checkpoint: Checkpoint, signers: readonly NoteSigner[]): string {
  return signNote(formatCheckpoint(checkpoint), signers);
}

export type VerifiedCheckpoint = {
  readonly ok: true;
  readonly checkpoint: Checkpoint;
  readonly verified: readonly NoteSignature[];
};

/**
 * Verifies a signed checkpoint note against known keys, then parses its body. Pass `expectedOrigin` to refuse a
 * correctly signed checkpoint of another log. Never throws on a crafted note.
 */
export function verifyCheckpoint(
  note: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
  expectedOrigin?: string,
): VerifiedCheckpoint | Failure<CheckpointFailureCode | NoteFailureCode> {
  const opened = verifyNote(note, verifiers);
  if (!opened.ok) return opened;
  const parsed = parseCheckpoint(opened.text);
  if (!parsed.ok) return parsed;
  if (expectedOrigin !== undefined && parsed.value.origin !== expectedOrigin) {
    return fail(CheckpointFailure.ORIGIN_MISMATCH, `origin ${JSON.stringify(parsed.value.origin)} is not expected`);
  }
  return { ok: true, checkpoint: parsed.value, verified: opened.verified };
}

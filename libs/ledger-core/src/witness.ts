import { bytesEqual, fromBase64, toBase64 } from './encoding';
import { fail, type Failure } from './errors';
import { EMPTY_ROOT, HASH_SIZE } from './hash';
import { type Checkpoint, parseCheckpoint, verifyCheckpoint } from './checkpoint';
import { isCount } from './tree-math';
import { type NoteVerifier, parseNote, NoteFailure } from './note';
import { verifyConsistency } from './proof';

/**
 * The witness side of C2SP tlog-witness (c2sp.org/tlog-witness), "add-checkpoint", as pure functions: the request
 * body, and the checks a witness makes before it cosigns, in the order and with the HTTP status codes of the spec.
 * Persisting the witness's state atomically (compare-and-swap) is the caller's job.
 */

/** SPEC: C2SP tlog-witness: "The client MUST NOT send more than 63 consistency proof lines." */
export const ADD_CHECKPOINT_MAX_PROOF_LINES = 63;

/** A request to add a checkpoint: the size the client believes the witness is at, a proof from it, the note. */
export interface AddCheckpointRequest {
  readonly oldSize: number;
  /** RFC 6962 §2.1.2 consistency proof from `oldSize` to the checkpoint's size (empty when `oldSize` is 0). */
  readonly proof: readonly Uint8Array[];
  /** The signed checkpoint note (it may carry several signatures). */
  readonly checkpoint: string;
}

/** What a witness last cosigned for a log: size 0 and the empty root when it never did. */
export interface WitnessState {
  readonly size: number;
  readonly root: Uint8Array;
}

export const WITNESS_INITIAL_STATE: WitnessState = { size: 0, root: EMPTY_ROOT };

export const WitnessFailure = {
  /** 400: the body is not an add-checkpoint request, or `old` is above the checkpoint's size. */
  MALFORMED: 'LEDGER.WITNESS_MALFORMED',
  /** 404: no trusted key for the checkpoint's origin. */
  UNKNOWN_LOG: 'LEDGER.WITNESS_UNKNOWN_LOG',
  /** 403: no valid signature by a trusted key of the origin, or a trusted key's signature fails. */
  UNTRUSTED: 'LEDGER.WITNESS_UNTRUSTED',
  /** 409: `old` is not the size of the last checkpoint this witness cosigned for the origin. */
  OLD_SIZE_MISMATCH: 'LEDGER.WITNESS_OLD_SIZE_MISMATCH',
  /** 422: the request is self-contradictory (size 0 with another root, a proof from size 0). */
  BAD_REQUEST_PROOF: 'LEDGER.WITNESS_BAD_PROOF',
  /**
   * 422: a correctly signed checkpoint that contradicts the one this witness cosigned: same size and another root,
   * or no valid consistency proof from it. Two signed histories of one log: a split view.
   */
  INCONSISTENT: 'LEDGER.WITNESS_INCONSISTENT',
} as const;
export type WitnessFailureCode = (typeof WitnessFailure)[keyof typeof WitnessFailure];

/** A refusal with its HTTP status (SPEC: C2SP tlog-witness, "add-checkpoint"). */
export type WitnessRefusal = Failure<WitnessFailureCode> & {
  readonly status: 400 | 403 | 404 | 409 | 422;
  /** 409: the size of the last cosigned checkpoint, the body of the answer. */
  readonly size?: number;
};

const refuse = (
  status: WitnessRefusal['status'],
  code: WitnessFailureCode,
  reason: string,
  size?: number,
): WitnessRefusal => ({ ...fail(code, reason), status, ...(size === undefined ? {} : { size }) });

// SPEC: C2SP tlog-witness: "the tree size of the previous checkpoint encoded as an ASCII decimal with no leading
// zeroes (unless the size is zero, in which case the encoding MUST be `0`)".
const OLD_LINE = /^old (0|[1-9][0-9]{0,15})$/;

/** The request body: `old <size>\n`, one base64 hash per line, an empty line, the checkpoint note. */
export function formatAddCheckpoint(request: AddCheckpointRequest): string {
  const proof = request.proof.map((hash) => `${toBase64(hash)}\n`).join('');
  return `old ${request.oldSize}\n${proof}\n${request.checkpoint}`;
}

/** Parses an add-checkpoint body strictly. Never throws. SPEC: C2SP tlog-witness, "add-checkpoint". */
export function parseAddCheckpoint(
  body: string,
): { readonly ok: true; readonly value: AddCheckpointRequest } | WitnessRefusal {
  const malformed = (reason: string) => refuse(400, WitnessFailure.MALFORMED, reason);
  if (typeof body !== 'string') return malformed('the body must be text');
  const lines: string[] = [];
  let at = 0;
  for (;;) {
    const end = body.indexOf('\n', at);
    if (end < 0) return malformed('the body needs an old size line, proof lines and an empty line before the note');
    const line = body.slice(at, end);
    at = end + 1;
    if (line === '') break;
    lines.push(line);
    if (lines.length > 1 + ADD_CHECKPOINT_MAX_PROOF_LINES) {
      return malformed(`more than ${ADD_CHECKPOINT_MAX_PROOF_LINES} consistency proof lines`);
    }
  }
  const [oldLine, ...proofLines] = lines;
  const old = oldLine === undefined ? null : OLD_LINE.exec(oldLine);
  if (!old || !isCount(Number(old[1]))) return malformed('the first line must be "old <size>"');
  const proof: Uint8Array[] = [];
  for (const line of proofLines) {
    const hash = fromBase64(line, HASH_SIZE);
    if (!hash) return malformed('each consistency proof line must be the base64 of a 32-byte hash');
    proof.push(hash);
  }
  return { ok: true, value: { oldSize: Number(old[1]), proof, checkpoint: body.slice(at) } };
}

/** A request whose checkpoint verified against the origin's trusted keys. */
export interface OpenedAddCheckpoint {
  readonly ok: true;
  readonly request: AddCheckpointRequest;
  readonly checkpoint: Checkpoint;
  /** The checkpoint body (the text every cosignature signs). */
  readonly text: string;
}

/**
 * Parses the body and verifies the checkpoint's signature against the keys trusted for its origin (`logs`: origin
 * to keys). SPEC: C2SP tlog-witness: unknown origin 404; no signature by a trusted key, or a trusted key's signature
 * failing, 403; signatures by unknown keys ignored; `old` above the checkpoint size 400.
 */
export function openAddCheckpoint(
  body: string,
  logs: ReadonlyMap<string, readonly NoteVerifier[]>,
): OpenedAddCheckpoint | WitnessRefusal {
  const parsed = parseAddCheckpoint(body);
  if (!parsed.ok) return parsed;
  const request = parsed.value;
  const note = parseNote(request.checkpoint);
  if (!note.ok) return refuse(400, WitnessFailure.MALFORMED, `the checkpoint is not a signed note: ${note.reason}`);
  const parsedBody = parseCheckpoint(note.value.text);
  if (!parsedBody.ok) return refuse(400, WitnessFailure.MALFORMED, `not a checkpoint: ${parsedBody.reason}`);
  const keys = logs.get(parsedBody.value.origin);
  if (!keys || keys.length === 0) {
    return refuse(
      404,
      WitnessFailure.UNKNOWN_LOG,
      `no trusted key for origin ${JSON.stringify(parsedBody.value.origin)}`,
    );
  }
  const verified = verifyCheckpoint(request.checkpoint, keys, parsedBody.value.origin);
  if (!verified.ok) {
    const status = verified.code === NoteFailure.MALFORMED ? 400 : 403;
    const code = status === 400 ? WitnessFailure.MALFORMED : WitnessFailure.UNTRUSTED;
    return refuse(status, code, `checkpoint signature: ${verified.reason}`);
  }
  if (request.oldSize > verified.checkpoint.size) {
    return refuse(
      400,
      WitnessFailure.MALFORMED,
      `old size ${request.oldSize} is above the checkpoint size ${verified.checkpoint.size}`,
    );
  }
  return { ok: true, request, checkpoint: verified.checkpoint, text: note.value.text };
}

/**
 * The witness's decision on an opened request, given what it last cosigned for the origin. `{ ok: true }`: cosign
 * it and record its size and root, atomically with the check that the state is still `state`. SPEC: C2SP
 * tlog-witness, "add-checkpoint", in the spec's order.
 */
export function decideAddCheckpoint(
  opened: OpenedAddCheckpoint,
  state: WitnessState,
): { readonly ok: true } | WitnessRefusal {
  const { request, checkpoint } = opened;
  if (request.oldSize !== state.size) {
    return refuse(
      409,
      WitnessFailure.OLD_SIZE_MISMATCH,
      `old size ${request.oldSize} is not the last cosigned size ${state.size}`,
      state.size,
    );
  }
  // SPEC: "A checkpoint of size zero MUST have the root hash of the empty tree [...] Otherwise [...] 422".
  if (checkpoint.size === 0 && !bytesEqual(checkpoint.root, EMPTY_ROOT)) {
    return refuse(422, WitnessFailure.BAD_REQUEST_PROOF, 'a checkpoint of size 0 must have the empty root');
  }
  // SPEC: "If the old size is zero, the consistency proof MUST be empty".
  if (request.oldSize === 0 && request.proof.length > 0) {
    return refuse(422, WitnessFailure.BAD_REQUEST_PROOF, 'no consistency proof is needed from size 0');
  }
  // SPEC: "If the old size matches the checkpoint size, the witness MUST check that the root hashes are also
  // identical", else a Merkle consistency proof from the old size (RFC 6962 §2.1.2). verifyConsistency does both.
  const consistent = verifyConsistency(state.size, checkpoint.size, request.proof, state.root, checkpoint.root);
  if (!consistent.ok) {
    return refuse(
      422,
      WitnessFailure.INCONSISTENT,
      `checkpoint of size ${checkpoint.size} and root ${toBase64(checkpoint.root)} does not extend the cosigned size ` +
        `${state.size} and root ${toBase64(state.root)}: ${consistent.reason}`,
    );
  }
  return { ok: true };
}

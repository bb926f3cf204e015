import {
  fromBase64,
  ProofFailure,
  parseCheckpoint,
  parseNote,
  toBase64,
  verifyCheckpoint,
  verifyConsistency,
  type Checkpoint,
} from '@medledger/ledger-core';
import { VerifyCode } from './codes';
import { type TrustedKeys } from './keys';

export interface ConsistencyInput {
  readonly keys: TrustedKeys;
  /** The checkpoint note recorded by the previous successful run (the state file), undefined on first use. */
  readonly previous: string | undefined;
  /** The ledger's latest signed checkpoint. */
  readonly latest: string;
  /** `GET /v1/proofs/consistency?from=&to=`: base64 hashes. */
  readonly proof: (from: number, to: number) => Promise<readonly unknown[]>;
  readonly origin?: string;
}

export interface CheckpointView {
  readonly origin: string;
  readonly size: number;
  /** Base64. */
  readonly root: string;
}

export type ConsistencyOutcome =
  /** No previous state: trust on first use. The caller records `latest`. */
  | { readonly ok: true; readonly kind: 'first-use'; readonly latest: CheckpointView }
  /** The same tree as last time. */
  | { readonly ok: true; readonly kind: 'unchanged'; readonly latest: CheckpointView }
  /** The latest tree provably extends the recorded one. The caller records `latest`. */
  | { readonly ok: true; readonly kind: 'extended'; readonly previous: CheckpointView; readonly latest: CheckpointView }
  | {
      readonly ok: false;
      readonly code: VerifyCode;
      readonly reason: string;
      /**
       * True when two validly signed checkpoints contradict each other: the log forked (a split view shown to
       * different clients) or rewrote its history. The two signed notes are the evidence.
       */
      readonly splitView: boolean;
      readonly previous?: CheckpointView;
      readonly latest?: CheckpointView;
    };

/** The recorded note is the user's own state: parsed, not re-verified (its key may have been rotated out since). */
export function parseRecordedCheckpoint(note: string): Checkpoint | undefined {
  const opened = parseNote(note);
  if (!opened.ok) return undefined;
  const parsed = parseCheckpoint(opened.value.text);
  return parsed.ok ? parsed.value : undefined;
}

function view(checkpoint: Checkpoint): CheckpointView {
  return { origin: checkpoint.origin, size: checkpoint.size, root: toBase64(checkpoint.root) };
}

/**
 * A light client's check (docs/design/ledger-format.md §5): the latest checkpoint is signed by a trusted key and,
 * by an RFC 9162 §2.1.4.2 consistency proof, extends the checkpoint verified last time. A log can only pass this
 * forever if it never forks or rewrites what it has signed.
 */
export async function checkConsistency(input: ConsistencyInput): Promise<ConsistencyOutcome> {
  const previousCheckpoint = input.previous === undefined ? undefined : parseRecordedCheckpoint(input.previous);
  if (input.previous !== undefined && !previousCheckpoint) {
    return {
      ok: false,
      code: VerifyCode.CHECKPOINT_INVALID,
      reason: 'the recorded state is not a signed checkpoint note',
      splitView: false,
    };
  }
  const origin = input.origin ?? previousCheckpoint?.origin;
  const opened = verifyCheckpoint(input.latest, input.keys.verifiers);
  if (!opened.ok) {
    return {
      ok: false,
      code: VerifyCode.CHECKPOINT_INVALID,
      reason: `latest checkpoint: ${opened.reason} (${opened.code})`,
      splitView: false,
    };
  }
  const latest = view(opened.checkpoint);
  if (!previousCheckpoint) {
    if (origin !== undefined && latest.origin !== origin) {
      return {
        ok: false,
        code: VerifyCode.ORIGIN_CHANGED,
        reason: `the latest checkpoint is for ${JSON.stringify(latest.origin)}, not ${JSON.stringify(origin)}`,
        splitView: false,
        latest,
      };
    }
    return { ok: true, kind: 'first-use', latest };
  }

  const previous = view(previousCheckpoint);
  const split = (code: VerifyCode, reason: string): ConsistencyOutcome => ({
    ok: false,
    code,
    reason,
    splitView: true,
    previous,
    latest,
  });
  if (latest.origin !== origin) {
    return {
      ok: false,
      code: VerifyCode.ORIGIN_CHANGED,
      reason: `the latest checkpoint is for ${JSON.stringify(latest.origin)}, the recorded one for ${JSON.stringify(origin)}`,
      splitView: false,
      previous,
      latest,
    };
  }
  if (latest.size < previous.size) {
    return split(
      VerifyCode.TREE_SHRANK,
      `the tree shrank from ${previous.size} to ${latest.size} leaves: entries that were signed are gone`,
    );
  }
  if (latest.size === previous.size) {
    return latest.root === previous.root
      ? { ok: true, kind: 'unchanged', latest }
      : split(VerifyCode.ROOT_CHANGED, `same tree size ${latest.size}, different root: the log was rewritten`);
  }
  if (previous.size === 0) return { ok: true, kind: 'extended', previous, latest };

  // A proof that is not even well-formed proves nothing either way: growth is unproven, but no signed statement
  // contradicts another, so there is no evidence for the alarm (anyone on the path can garble a proof).
  const unproven = (reason: string): ConsistencyOutcome => ({
    ok: false,
    code: VerifyCode.CONSISTENCY_UNPROVEN,
    reason: `tree size ${latest.size} is not proven to extend tree size ${previous.size}: ${reason}`,
    splitView: false,
    previous,
    latest,
  });
  const hashes = await input.proof(previous.size, latest.size);
  const proof = hashes.map((hash) => (typeof hash === 'string' ? fromBase64(hash, 32) : undefined));
  if (!proof.every((hash): hash is Uint8Array => hash !== undefined)) {
    return unproven('the consistency proof holds a value that is not a hash');
  }
  const verdict = verifyConsistency(previous.size, latest.size, proof, previousCheckpoint.root, opened.checkpoint.root);
  if (!verdict.ok && (verdict.code === ProofFailure.WRONG_LENGTH || verdict.code === ProofFailure.MALFORMED_HASH)) {
    return unproven(`the consistency proof is malformed (${verdict.reason}, ${verdict.code})`);
  }
  if (!verdict.ok) {
    return split(
      VerifyCode.CONSISTENCY_FAILED,
      `tree size ${latest.size} does not extend tree size ${previous.size} (${verdict.reason}, ${verdict.code})`,
    );
  }
  return { ok: true, kind: 'extended', previous, latest };
}

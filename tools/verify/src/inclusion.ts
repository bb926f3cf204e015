import { fromBase64, leafHash, toBase64, verifyCheckpoint, verifyInclusion } from '@medledger/ledger-core';
import { finding, VerifyCode, type Finding } from './codes';
import { type TrustedKeys } from './keys';
import { checkLeaf } from './leaf';
import { type ProducerCheck } from './producers';

export interface InclusionInput {
  readonly keys: TrustedKeys;
  readonly eventId: string;
  /** What `GET /v1/events/{id}` returned (`{eventId, index, blockHeight, topic, leafData}`), undefined on 404. */
  readonly record: unknown;
  /** The signed checkpoint to prove against (the latest one). */
  readonly checkpoint: string | undefined;
  /** The inclusion proof for (index, treeSize): base64 hashes, as `GET /v1/proofs/inclusion` returns them. */
  readonly proof: (index: number, treeSize: number) => Promise<readonly unknown[]>;
  readonly origin?: string;
  /** Pinned producer keys: the event's proof of origin is checked against them. */
  readonly producers?: ProducerCheck;
}

export interface InclusionSummary {
  readonly ok: true;
  readonly eventId: string;
  readonly index: number;
  readonly blockHeight: number | undefined;
  readonly treeSize: number;
  readonly root: string;
  /** `<name>+<key id>` of each trusted signature on the checkpoint. */
  readonly signedBy: readonly string[];
}

/**
 * Proves one event is in the log: its leaf bytes name it at its index, its producer signed it (with `producers`),
 * the checkpoint is signed by a trusted key, and the RFC 9162 §2.1.3.2 inclusion proof leads from the leaf hash to
 * the checkpoint's root. Never throws on
 * untrusted input; errors of the proof source propagate.
 */
export async function verifyEventInclusion(input: InclusionInput): Promise<InclusionSummary | Finding> {
  const { eventId, record } = input;
  const where = `event ${JSON.stringify(eventId)}`;
  if (record === undefined) return finding(VerifyCode.EVENT_NOT_FOUND, `${where}: not in the log`);
  const { index, blockHeight } = (record ?? {}) as { index?: unknown; blockHeight?: unknown };
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) {
    return finding(VerifyCode.LEAF_INVALID, `${where}: the record has no valid index`);
  }
  const leaf = checkLeaf(record, index);
  if (!leaf.ok) return finding(leaf.code, `${where}: leaf ${index}: ${leaf.reason}`, { leafIndex: index });
  if (leaf.eventId !== eventId) {
    return finding(VerifyCode.EVENT_ID_MISMATCH, `${where}: the ledger answered with event ${leaf.eventId}`);
  }
  const origin = input.producers?.check(leaf.event, leaf.topic);
  if (origin && !origin.ok) {
    return finding(origin.code, `${where}: leaf ${index}: proof of origin fails (${origin.reason})`, {
      leafIndex: index,
    });
  }

  if (input.checkpoint === undefined) return finding(VerifyCode.CHECKPOINT_MISSING, `${where}: no checkpoint`);
  const opened = verifyCheckpoint(input.checkpoint, input.keys.verifiers, input.origin);
  if (!opened.ok) return finding(VerifyCode.CHECKPOINT_INVALID, `checkpoint: ${opened.reason} (${opened.code})`);
  const { size, root } = opened.checkpoint;
  if (index >= size) {
    return finding(VerifyCode.INCLUSION_FAILED, `${where}: leaf ${index} is beyond the checkpoint's tree size ${size}`);
  }

  const hashes = await input.proof(index, size);
  const proof = hashes.map((hash) => (typeof hash === 'string' ? fromBase64(hash, 32) : undefined));
  if (!proof.every((hash): hash is Uint8Array => hash !== undefined)) {
    return finding(VerifyCode.INCLUSION_FAILED, `${where}: the inclusion proof holds a value that is not a hash`);
  }
  const verdict = verifyInclusion(leafHash(leaf.data), index, size, proof, root);
  if (!verdict.ok) {
    return finding(
      VerifyCode.INCLUSION_FAILED,
      `${where}: leaf ${index} does not prove into tree size ${size} (${verdict.reason}, ${verdict.code})`,
      { leafIndex: index },
    );
  }
  return {
    ok: true,
    eventId,
    index,
    blockHeight: typeof blockHeight === 'number' ? blockHeight : undefined,
    treeSize: size,
    root: toBase64(root),
    signedBy: opened.verified.map((signature) => `${signature.name}+${signature.keyId}`),
  };
}

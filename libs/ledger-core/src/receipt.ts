import { blockHash, parseSignedBlockHeader, SIGNED_FIELDS, verifyHeader, type SignedBlockHeader } from './block';
import { verifyCheckpoint, type Checkpoint } from './checkpoint';
import { fromBase64, toBase64 } from './encoding';
import { leafHash } from './hash';
import { canonicalize } from './jcs';
import type { NoteVerifier } from './note';
import { ORIGIN_ATTRIBUTES } from './origin';
import { verifyInclusion } from './proof';

/** What a receipt is made of: our own copy of the event and what the ledger says about it. */
export interface ReceiptMaterial {
  eventId: string;
  /** The envelope as this service committed it (unsigned: without the proof of origin). */
  envelope: Record<string, unknown>;
  /** From `ledger.BlockSealed`, as stored when the block was announced. */
  leafIndex: number;
  blockHeight: number;
  /** Base64 of the exact leaf bytes (`GET /v1/events/{id}` of the ledger). */
  leafData: string;
  /** The block's signed header (`GET /v1/blocks/{height}`). */
  block: unknown;
  /** The signed checkpoint the proof is for (`GET /v1/checkpoint`). */
  checkpoint: string;
  /** Base64 hashes of the inclusion proof of leafIndex in the checkpoint's tree. */
  proof: readonly string[];
}

/** Stable reasons a receipt is refused; the HTTP API answers 502 with one of them. */
export const ReceiptFailure = {
  BAD_CHECKPOINT: 'RECEIPT.BAD_CHECKPOINT',
  BAD_BLOCK: 'RECEIPT.BAD_BLOCK',
  LEAF_MISMATCH: 'RECEIPT.LEAF_MISMATCH',
  BAD_PROOF: 'RECEIPT.BAD_PROOF',
} as const;
export type ReceiptFailureCode = (typeof ReceiptFailure)[keyof typeof ReceiptFailure];

export type ReceiptVerdict =
  | { ok: true; checkpoint: Checkpoint; block: SignedBlockHeader }
  | { ok: false; code: ReceiptFailureCode; reason: string };

interface Failure {
  ok: false;
  code: ReceiptFailureCode;
  reason: string;
}

function fail(code: ReceiptFailureCode, reason: string): Failure {
  return { ok: false, code, reason };
}

/** The signed header inside the ledger's block representation (which adds derived fields such as its hash). */
function signedHeaderFields(block: unknown): unknown {
  if (typeof block !== 'object' || block === null) return block;
  const source = block as Record<string, unknown>;
  return Object.fromEntries(SIGNED_FIELDS.filter((field) => field in source).map((field) => [field, source[field]]));
}

function withoutProofOfOrigin(event: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...event };
  for (const attribute of ORIGIN_ATTRIBUTES) delete copy[attribute];
  return copy;
}

/**
 * Checks everything a receipt claims, trusting nothing but the pinned ledger keys: the checkpoint's signature
 * and origin, the block header's signature, that the block holds the leaf, that the leaf holds exactly our
 * event at that index, and that the inclusion proof leads from the leaf to the checkpoint's root.
 * SPEC: RFC 6962 §2.1.1 (leaf hash), RFC 9162 §2.1.3.2 (inclusion), C2SP signed-note and tlog-checkpoint.
 */
export function verifyReceipt(
  material: ReceiptMaterial,
  ledgerKeys: readonly NoteVerifier[],
  ledgerOrigin?: string,
): ReceiptVerdict {
  const checkpoint = verifyCheckpoint(material.checkpoint, ledgerKeys, ledgerOrigin);
  if (!checkpoint.ok) return fail(ReceiptFailure.BAD_CHECKPOINT, `${checkpoint.code}: ${checkpoint.reason}`);
  const { size, root } = checkpoint.checkpoint;

  const header = parseSignedBlockHeader(signedHeaderFields(material.block));
  if (!header.ok) return fail(ReceiptFailure.BAD_BLOCK, `${header.code}: ${header.reason}`);
  const block = header.value;
  const keys = new Map(ledgerKeys.map((key) => [key.keyId, key.publicKey]));
  const signed = verifyHeader(block, keys);
  if (!signed.ok) return fail(ReceiptFailure.BAD_BLOCK, `${signed.code}: ${signed.reason}`);
  if (block.height !== material.blockHeight)
    return fail(ReceiptFailure.BAD_BLOCK, `block is at height ${block.height}, not ${material.blockHeight}`);
  const { leafIndex } = material;
  if (leafIndex < block.firstLeafIndex || leafIndex >= block.treeSize)
    return fail(ReceiptFailure.BAD_BLOCK, `block ${block.height} does not hold leaf ${leafIndex}`);
  if (block.treeSize > size)
    return fail(ReceiptFailure.BAD_CHECKPOINT, `checkpoint (size ${size}) predates block ${block.height}`);

  const leaf = checkLeaf(material, leafIndex, size, root);
  if (leaf) return leaf;
  return { ok: true, checkpoint: checkpoint.checkpoint, block };
}

/** That the leaf at `leafIndex` holds exactly our event and that its inclusion proof leads to `root` at `size`. */
function checkLeaf(
  material: Pick<ReceiptMaterial, 'eventId' | 'envelope' | 'leafData' | 'proof'>,
  leafIndex: number,
  size: number,
  root: Uint8Array,
): Failure | undefined {
  const bytes = fromBase64(material.leafData);
  if (!bytes) return fail(ReceiptFailure.LEAF_MISMATCH, 'leaf data is not base64');
  let leaf: { index?: unknown; event?: unknown };
  try {
    leaf = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof leaf;
  } catch {
    return fail(ReceiptFailure.LEAF_MISMATCH, 'leaf data is not JSON');
  }
  if (leaf.index !== leafIndex) return fail(ReceiptFailure.LEAF_MISMATCH, `leaf says index ${String(leaf.index)}`);
  const event = leaf.event;
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    return fail(ReceiptFailure.LEAF_MISMATCH, 'leaf holds no event');
  const sealed = withoutProofOfOrigin(event as Record<string, unknown>);
  if (canonicalize(sealed) !== canonicalize(withoutProofOfOrigin(material.envelope)))
    return fail(ReceiptFailure.LEAF_MISMATCH, `the sealed event differs from event ${material.eventId} as committed`);

  const proof: Uint8Array[] = [];
  for (const element of material.proof) {
    const hash = fromBase64(element, 32);
    if (!hash) return fail(ReceiptFailure.BAD_PROOF, 'proof element is not a base64 hash');
    proof.push(hash);
  }
  const included = verifyInclusion(leafHash(bytes), leafIndex, size, proof, root);
  if (!included.ok) return fail(ReceiptFailure.BAD_PROOF, `${included.code}: ${included.reason}`);
  return undefined;
}

/** One of our events in a block, with what the ledger says about it (`GET /v1/blocks/{height}/proofs`). */
export interface BlockLeafMaterial {
  eventId: string;
  /** The envelope as this service committed it (unsigned: without the proof of origin). */
  envelope: Record<string, unknown>;
  leafIndex: number;
  /** Base64 of the exact leaf bytes. */
  leafData: string;
  /** Base64 hashes of the inclusion proof of leafIndex in the tree of the block's checkpoint (its treeSize). */
  proof: readonly string[];
}

/** What proves several of our events in one block: the block, its own checkpoint, and each leaf with its proof. */
export interface BlockReceiptsMaterial {
  /** The block's signed header (extra presentation fields such as `hash` and `checkpoint` are ignored). */
  block: unknown;
  /** The signed checkpoint of the tree right after this block (size = the block's treeSize). */
  checkpoint: string;
  leaves: readonly BlockLeafMaterial[];
}

export type BlockReceiptsVerdict =
  | { ok: true; checkpoint: Checkpoint; block: SignedBlockHeader; blockHash: Uint8Array }
  | { ok: false; code: ReceiptFailureCode; reason: string; eventId?: string };

/**
 * {@link verifyReceipt} for many events of one block at once: the checkpoint and the block header are verified once
 * (one signature each), then every leaf and its inclusion proof. The checkpoint must be the block's own (same size
 * and root), so a verified result says exactly where in which block each event was sealed. Never throws.
 * SPEC: RFC 6962 §2.1.1 (leaf hash), RFC 9162 §2.1.3.2 (inclusion), C2SP signed-note and tlog-checkpoint.
 */
export function verifyBlockReceipts(
  material: BlockReceiptsMaterial,
  ledgerKeys: readonly NoteVerifier[],
  ledgerOrigin?: string,
): BlockReceiptsVerdict {
  const checkpoint = verifyCheckpoint(material.checkpoint, ledgerKeys, ledgerOrigin);
  if (!checkpoint.ok) return fail(ReceiptFailure.BAD_CHECKPOINT, `${checkpoint.code}: ${checkpoint.reason}`);
  const { size, root } = checkpoint.checkpoint;

  const header = parseSignedBlockHeader(signedHeaderFields(material.block));
  if (!header.ok) return fail(ReceiptFailure.BAD_BLOCK, `${header.code}: ${header.reason}`);
  const block = header.value;
  const signed = verifyHeader(block, new Map(ledgerKeys.map((key) => [key.keyId, key.publicKey])));
  if (!signed.ok) return fail(ReceiptFailure.BAD_BLOCK, `${signed.code}: ${signed.reason}`);
  if (block.treeSize !== size || block.root !== toBase64(root))
    return fail(ReceiptFailure.BAD_CHECKPOINT, `the checkpoint (size ${size}) is not block ${block.height}'s`);

  for (const leaf of material.leaves) {
    if (leaf.leafIndex < block.firstLeafIndex || leaf.leafIndex >= block.treeSize)
      return {
        ...fail(ReceiptFailure.BAD_BLOCK, `block ${block.height} does not hold leaf ${leaf.leafIndex}`),
        eventId: leaf.eventId,
      };
    const problem = checkLeaf(leaf, leaf.leafIndex, size, root);
    if (problem) return { ...problem, eventId: leaf.eventId };
  }
  return { ok: true, checkpoint: checkpoint.checkpoint, block, blockHash: blockHash(block) };
}

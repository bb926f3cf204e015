import type { BlockSealedData } from '@medledger/contracts';
import {
  ReceiptFailure,
  toBase64,
  verifyBlockReceipts,
  verifyCheckpoint,
  type NoteVerifier,
  type ReceiptFailureCode,
} from '@medledger/ledger-core';

/**
 * How a `ledger.BlockSealed` is checked before a receipt is kept (ADR 0010). Pure: the ledger's answer is fetched by
 * the caller. Nothing in an announcement is trusted: its checkpoint must be signed by a pinned ledger key, and every
 * event→index pair it gives for one of our events must be what the ledger proves with a signed block, its
 * checkpoint, the leaf holding exactly our committed event and an inclusion proof to that checkpoint's root.
 */
export const AnnouncementFailure = {
  ...ReceiptFailure,
  /** The announcement contradicts what the signed material proves (size, root, block, an event's index). */
  MISMATCH: 'RECEIPT.ANNOUNCEMENT_MISMATCH',
} as const;
export type AnnouncementFailureCode = ReceiptFailureCode | typeof AnnouncementFailure.MISMATCH;

export interface Refusal {
  ok: false;
  code: AnnouncementFailureCode;
  reason: string;
}

/** What the ledger answers for some events of one block (`GET /v1/blocks/{height}/proofs`), unverified. */
export interface BlockProofs {
  /** The block as the ledger presents it: the signed header plus its hash and checkpoint. */
  block: Record<string, unknown>;
  proofs: ReadonlyArray<{ eventId: string; index: number; leafData: string; hashes: readonly string[] }>;
  /** The ids asked for that the block does not hold. */
  absent: readonly string[];
}

/** Where the ledger sealed one of our events, proven. */
export interface ProvenReceipt {
  eventId: string;
  leafIndex: number;
  blockHeight: number;
  treeSize: number;
  /** The block's own signed checkpoint (size = treeSize). */
  checkpoint: string;
}

export interface ProvenBlock {
  ok: true;
  height: number;
  treeSize: number;
  root: string;
  blockHash: string;
  receipts: ProvenReceipt[];
  /** Ours that the ledger says this block does not hold (nothing proves that; nothing is kept for them here). */
  absent: string[];
}

const refuse = (code: AnnouncementFailureCode, reason: string): Refusal => ({ ok: false, code, reason });

/**
 * Step one, before any request: the announcement's checkpoint is signed by a pinned ledger key for our ledger's
 * origin, and its size and root are the announcement's. A forged or unverifiable announcement stops here.
 * SPEC: C2SP signed-note, C2SP tlog-checkpoint.
 */
export function checkAnnouncement(
  block: BlockSealedData,
  ledgerKeys: readonly NoteVerifier[],
  ledgerOrigin: string,
): Refusal | undefined {
  const checkpoint = verifyCheckpoint(block.checkpoint, ledgerKeys, ledgerOrigin);
  if (!checkpoint.ok) return refuse(AnnouncementFailure.BAD_CHECKPOINT, `${checkpoint.code}: ${checkpoint.reason}`);
  const { size, root } = checkpoint.checkpoint;
  if (size !== block.treeSize || toBase64(root) !== block.root)
    return refuse(
      AnnouncementFailure.MISMATCH,
      `the checkpoint is of size ${size} and root ${toBase64(root)}, the announcement says ${block.treeSize} and ${block.root}`,
    );
  return undefined;
}

/**
 * Verifies the ledger's answer for our events of one block: the block's signature, its own checkpoint, and each
 * leaf with its inclusion proof ({@link verifyBlockReceipts}). `envelopes`: ours, as committed (es_outbox).
 */
export function proveBlock(
  answer: BlockProofs,
  envelopes: ReadonlyMap<string, Record<string, unknown>>,
  ledgerKeys: readonly NoteVerifier[],
  ledgerOrigin: string,
): ProvenBlock | Refusal {
  const checkpoint = answer.block['checkpoint'];
  if (typeof checkpoint !== 'string') return refuse(AnnouncementFailure.BAD_CHECKPOINT, 'the block has no checkpoint');
  const leaves = [];
  for (const proof of answer.proofs) {
    const envelope = envelopes.get(proof.eventId);
    if (!envelope)
      return refuse(AnnouncementFailure.LEAF_MISMATCH, `the ledger proved ${proof.eventId}, not asked for`);
    leaves.push({
      eventId: proof.eventId,
      envelope,
      leafIndex: proof.index,
      leafData: proof.leafData,
      proof: proof.hashes,
    });
  }
  const verdict = verifyBlockReceipts({ block: answer.block, checkpoint, leaves }, ledgerKeys, ledgerOrigin);
  if (!verdict.ok)
    return refuse(verdict.code, verdict.eventId ? `event ${verdict.eventId}: ${verdict.reason}` : verdict.reason);
  const { height, treeSize, root } = verdict.block;
  const proven = new Set(leaves.map((leaf) => leaf.eventId));
  return {
    ok: true,
    height,
    treeSize,
    root,
    blockHash: toBase64(verdict.blockHash),
    receipts: leaves.map((leaf) => ({
      eventId: leaf.eventId,
      leafIndex: leaf.leafIndex,
      blockHeight: height,
      treeSize,
      checkpoint,
    })),
    absent: [...envelopes.keys()].filter((id) => !proven.has(id)),
  };
}

/**
 * Step two: our events of an announced block, as the ledger proves them, must be exactly what the announcement
 * says: the same block (height, size, root, hash) and each of our events at the index announced.
 */
export function proveAnnouncement(
  block: BlockSealedData,
  answer: BlockProofs,
  envelopes: ReadonlyMap<string, Record<string, unknown>>,
  ledgerKeys: readonly NoteVerifier[],
  ledgerOrigin: string,
): ProvenBlock | Refusal {
  const proven = proveBlock(answer, envelopes, ledgerKeys, ledgerOrigin);
  if (!proven.ok) return proven;
  const announced = { height: block.height, treeSize: block.treeSize, root: block.root, blockHash: block.blockHash };
  for (const [field, value] of Object.entries(announced) as Array<[keyof typeof announced, string | number]>)
    if (proven[field] !== value)
      return refuse(AnnouncementFailure.MISMATCH, `the block's ${field} is ${proven[field]}, announced ${value}`);
  const [absent] = proven.absent;
  if (absent !== undefined)
    return refuse(AnnouncementFailure.MISMATCH, `block ${block.height} does not hold event ${absent}`);
  const indexes = new Map(block.events.map((event) => [event.eventId, event.index]));
  for (const receipt of proven.receipts)
    if (indexes.get(receipt.eventId) !== receipt.leafIndex)
      return refuse(
        AnnouncementFailure.MISMATCH,
        `event ${receipt.eventId} is leaf ${receipt.leafIndex}, announced ${String(indexes.get(receipt.eventId))}`,
      );
  return proven;
}

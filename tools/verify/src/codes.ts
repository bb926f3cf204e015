/**
 * Stable codes of medledger-verify. A verification finding (exit 1) carries one of `VerifyCode`; a run that could
 * not verify at all (exit 2: bad arguments, unreachable ledger, unreadable file) throws a `CliError`.
 */
export const VerifyCode = {
  /** A block is not a well-formed signed header with `hash` and `checkpoint` (ledger-core parseSignedBlockHeader). */
  BLOCK_MALFORMED: 'VERIFY.BLOCK_MALFORMED',
  /** The block at position h does not have height h: a block was dropped, duplicated or reordered. */
  BLOCK_MISSING: 'VERIFY.BLOCK_MISSING',
  /** Block 0 without the all-zero previousHash or with a firstLeafIndex other than 0. */
  BAD_GENESIS: 'VERIFY.BAD_GENESIS',
  /** The header names a key id that no trusted key has. */
  UNKNOWN_KEY: 'VERIFY.UNKNOWN_KEY',
  /** The Ed25519 header signature does not verify. */
  SIGNATURE_INVALID: 'VERIFY.SIGNATURE_INVALID',
  /** A block signed by another key than the block before it, without a key change record (ledger-format §5.1). */
  KEY_CHANGE_MISSING: 'VERIFY.KEY_CHANGE_MISSING',
  /**
   * A key change record that does not verify with the previous block's key, or names another origin, height,
   * previous hash or key than its block's; or one where the key does not change.
   */
  KEY_CHANGE_INVALID: 'VERIFY.KEY_CHANGE_INVALID',
  /** The block's `hash` is not blockHash(header). */
  HASH_MISMATCH: 'VERIFY.HASH_MISMATCH',
  /** previousHash is not the hash of the previous block. */
  PREVIOUS_HASH_MISMATCH: 'VERIFY.PREVIOUS_HASH_MISMATCH',
  /** firstLeafIndex is not the previous block's treeSize. */
  LEAF_INDEX_GAP: 'VERIFY.LEAF_INDEX_GAP',
  /** sealedAt is earlier than the previous block's. */
  TIME_REVERSED: 'VERIFY.TIME_REVERSED',
  /** The log has fewer leaves than a block seals. */
  LEAF_MISSING: 'VERIFY.LEAF_MISSING',
  /** A leaf record or its leafData is malformed (encoding, JSON, fields, index). */
  LEAF_INVALID: 'VERIFY.LEAF_INVALID',
  /** leafData is JSON but not its own RFC 8785 canonical form. */
  LEAF_NOT_CANONICAL: 'VERIFY.LEAF_NOT_CANONICAL',
  /** The leaf's eventId is not the id of the event inside its leafData. */
  EVENT_ID_MISMATCH: 'VERIFY.EVENT_ID_MISMATCH',
  /** An event id appears in two leaves (the log appends an event once). */
  DUPLICATE_EVENT: 'VERIFY.DUPLICATE_EVENT',
  /** Leaves after the last block's treeSize (a bundle holding unsealed leaves). */
  EXTRA_LEAVES: 'VERIFY.EXTRA_LEAVES',
  /** The root recomputed from the leaves differs from the header's root. */
  ROOT_MISMATCH: 'VERIFY.ROOT_MISMATCH',
  /** A checkpoint note does not verify with a trusted key, is malformed or is for another origin. */
  CHECKPOINT_INVALID: 'VERIFY.CHECKPOINT_INVALID',
  /** A valid checkpoint whose size or root is not the block's (or the last block's, for the latest one). */
  CHECKPOINT_MISMATCH: 'VERIFY.CHECKPOINT_MISMATCH',
  /** Blocks but no latest checkpoint. */
  CHECKPOINT_MISSING: 'VERIFY.CHECKPOINT_MISSING',
  /** A key list served by the ledger (or held in a bundle) that does not parse. */
  KEYS_INVALID: 'VERIFY.KEYS_INVALID',
  /** The event is not in the log. */
  EVENT_NOT_FOUND: 'VERIFY.EVENT_NOT_FOUND',
  /** The inclusion proof does not lead to the checkpoint's root. */
  INCLUSION_FAILED: 'VERIFY.INCLUSION_FAILED',
  /** The consistency proof between the recorded and the latest checkpoint fails. */
  CONSISTENCY_FAILED: 'VERIFY.CONSISTENCY_FAILED',
  /** The latest checkpoint is smaller than the recorded one. */
  TREE_SHRANK: 'VERIFY.TREE_SHRANK',
  /** Same tree size as the recorded checkpoint, different root. */
  ROOT_CHANGED: 'VERIFY.ROOT_CHANGED',
  /** The latest checkpoint is for another log than the recorded one. */
  ORIGIN_CHANGED: 'VERIFY.ORIGIN_CHANGED',
  /**
   * The ledger's consistency proof is malformed (not hashes, or not as many as the sizes need): growth is not
   * proven, but nothing is evidence of a split view either.
   */
  CONSISTENCY_UNPROVEN: 'VERIFY.CONSISTENCY_UNPROVEN',
  /** The newest checkpoint's block was sealed longer ago than --max-age (a frozen log, or a stale view). */
  STALE_CHECKPOINT: 'VERIFY.STALE_CHECKPOINT',
  /**
   * With --witness-keys: the checkpoint used lacks valid cosignatures from --quorum distinct pinned witnesses (or
   * the ledger has no checkpoint cosigned by that many): it may be a view shown to this client alone.
   */
  NOT_WITNESSED: 'VERIFY.NOT_WITNESSED',
  /** A cosignature line by a pinned witness key that does not verify (C2SP tlog-cosignature). */
  COSIGNATURE_INVALID: 'VERIFY.COSIGNATURE_INVALID',
  /** The log has no block, and --allow-empty was not given. */
  EMPTY_LOG: 'VERIFY.EMPTY_LOG',
  /** A leaf's receivedAt is later than its block's sealedAt. */
  RECEIVED_AFTER_SEALED: 'VERIFY.RECEIVED_AFTER_SEALED',
  /** Proof of origin: the event names a producer key that no pinned producer key of its source has. */
  ORIGIN_UNKNOWN_KEY: 'VERIFY.ORIGIN_UNKNOWN_KEY',
  /** Proof of origin: the batch note is malformed or its signature does not verify. */
  ORIGIN_BAD_NOTE: 'VERIFY.ORIGIN_BAD_NOTE',
  /** Proof of origin: the event does not prove into its producer batch (it was changed, or moved in the batch). */
  ORIGIN_NOT_IN_BATCH: 'VERIFY.ORIGIN_NOT_IN_BATCH',
  /** Proof of origin: the producer signed the note for another log than its event batches. */
  ORIGIN_WRONG_BATCH_ORIGIN: 'VERIFY.ORIGIN_WRONG_BATCH_ORIGIN',
  /** The leaf's topic is not the topic of the event's producer. */
  WRONG_TOPIC: 'VERIFY.WRONG_TOPIC',
  /**
   * `--deep`: a proof the ledger serves (consistency between two blocks, or a leaf's inclusion in its block) does
   * not verify against the signed roots, though the roots recompute from the leaves: its stored tree is wrong.
   */
  SERVED_PROOF_INVALID: 'VERIFY.SERVED_PROOF_INVALID',
  /** `--deep`: the ledger refused to serve a proof for a block it signed (e.g. its own LEDGER.TILES_CORRUPT). */
  PROOF_REFUSED: 'VERIFY.PROOF_REFUSED',
  /** `audit`: a stored tile row differs from the tile recomputed from the verified leaves (a hash or its width). */
  TILE_MISMATCH: 'VERIFY.TILE_MISMATCH',
  /** `audit`: a tile the tree needs has no stored row. */
  TILE_MISSING: 'VERIFY.TILE_MISSING',
  /** `audit`: a stored tile row that is no tile of the tree at the newest block's size. */
  TILE_EXTRA: 'VERIFY.TILE_EXTRA',
} as const;
export type VerifyCode = (typeof VerifyCode)[keyof typeof VerifyCode];

/** Codes of runs that could not verify anything (exit 2). */
export const CliErrorCode = {
  USAGE: 'VERIFY.USAGE',
  NETWORK: 'VERIFY.NETWORK',
  PROTOCOL: 'VERIFY.PROTOCOL',
  KEYRING: 'VERIFY.KEYRING',
  BUNDLE: 'VERIFY.BUNDLE',
  STATE: 'VERIFY.STATE',
  /** `audit`: the ledger's database cannot be read. */
  DATABASE: 'VERIFY.DATABASE',
} as const;
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

/** Thrown when the tool cannot do its job (exit 2); never for something it verified and found wrong. */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    readonly code: CliErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A verification finding: what failed, where, and a one-line explanation that starts with the place. */
export interface Finding {
  readonly ok: false;
  readonly code: VerifyCode;
  /** The first bad block, when the finding is about one. */
  readonly height?: number;
  /** The leaf concerned, when there is one. */
  readonly leafIndex?: number;
  /** e.g. `block 7: root mismatch (leaves recompute to X, header says Y)`. */
  readonly message: string;
  /**
   * Two validly signed checkpoints contradict each other (the recorded one and the log verified now): evidence of
   * a split view or a rewritten history, for the alarm.
   */
  readonly splitView?: true;
}

export function finding(
  code: VerifyCode,
  message: string,
  where: { height?: number; leafIndex?: number; splitView?: true } = {},
): Finding {
  return { ok: false, code, message, ...where };
}

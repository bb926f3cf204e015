import { bytesEqual, fromBase64, isUtcMillisTimestamp, toBase64, utf8 } from './encoding';
import { fail, type Failure, LedgerCoreError, LedgerErrorCode, type Parsed, type Verdict } from './errors';
import { HASH_SIZE, sha256 } from './hash';
import { canonicalBytes } from './jcs';
import { ED25519_PUBLIC_KEY_SIZE, ED25519_SIGNATURE_SIZE, ed25519Verify } from './keys';
import { type NoteSigner } from './note';
import { isCount } from './tree-math';

/**
 * Ledger block headers: each block seals leaves [firstLeafIndex, treeSize) of the Merkle log, is signed with
 * Ed25519 over its RFC 8785 canonical JSON, and names the hash of the previous signed header, so the chain
 * commits to every earlier signature.
 *
 * A header signature cannot be replayed as a signed-note signature or vice versa, although the same key may sign
 * both: JCS output always ends with `}`, and note text always ends with a newline.
 */
export interface BlockHeader {
  /** 0 for the first block, then +1 per block. */
  readonly height: number;
  /** Base64 of blockHash(previous signed header); GENESIS_PREVIOUS_HASH for block 0. */
  readonly previousHash: string;
  /** Index of the first leaf this block seals: the previous block's treeSize (0 for block 0). */
  readonly firstLeafIndex: number;
  readonly leafCount: number;
  /** firstLeafIndex + leafCount. */
  readonly treeSize: number;
  /** Base64 of the RFC 6962 root at treeSize. */
  readonly root: string;
  /** RFC 3339 UTC with milliseconds, e.g. 2026-11-23T10:00:00.000Z. */
  readonly sealedAt: string;
  /** 8 hex digits: the C2SP key id of the signing key (`keyId(name, publicKey)`). */
  readonly keyId: string;
  /**
   * Only in the first block a new key signs: the key change record (key-change.ts), a signed note by the key
   * of the block before naming this key, this height and previousHash. Absent otherwise, and then absent from
   * the signed bytes and the block hash too, so that a header without it is byte for byte what it always was.
   */
  readonly keyChange?: string;
}

export interface SignedBlockHeader extends BlockHeader {
  /** Base64 of the 64-byte Ed25519 signature over headerSigningBytes(header). */
  readonly signature: string;
}

/** previousHash of block 0: base64 of 32 zero bytes. */
export const GENESIS_PREVIOUS_HASH = toBase64(new Uint8Array(HASH_SIZE));

/**
 * Fewest leaves a block may seal. An empty block would commit to nothing new, and would let a signer mint any
 * number of distinct blocks over the same tree.
 */
export const BLOCK_MIN_LEAVES = 1;

/**
 * Longest key change record a header may carry. The ledger's is four short lines (the origin twice) and one
 * signature line, about 300 bytes; 2 KiB leaves room for a long origin and a few more signature lines, and bounds
 * what a hostile header makes a verifier parse.
 */
export const KEY_CHANGE_MAX_BYTES = 2_048;

const HEADER_FIELDS = [
  'height',
  'previousHash',
  'firstLeafIndex',
  'leafCount',
  'treeSize',
  'root',
  'sealedAt',
  'keyId',
  'keyChange',
] as const satisfies readonly (keyof BlockHeader)[];
/** The fields of a signed block header, in no particular order (JCS orders them). */
export const SIGNED_FIELDS = [...HEADER_FIELDS, 'signature'] as const satisfies readonly (keyof SignedBlockHeader)[];

export const BlockFailure = {
  /** A field is missing, extra, of the wrong type or out of range. */
  MALFORMED: 'LEDGER.BLOCK_MALFORMED',
  /** Block 0 must have GENESIS_PREVIOUS_HASH and firstLeafIndex 0. */
  BAD_GENESIS: 'LEDGER.BLOCK_BAD_GENESIS',
  /** No public key is known for the header's keyId. */
  UNKNOWN_KEY: 'LEDGER.BLOCK_UNKNOWN_KEY',
  /** The signature does not verify. */
  BAD_SIGNATURE: 'LEDGER.BLOCK_BAD_SIGNATURE',
  /** next.height is not prev.height + 1. */
  HEIGHT_GAP: 'LEDGER.CHAIN_HEIGHT_GAP',
  /** next.previousHash is not blockHash(prev). */
  PREVIOUS_HASH_MISMATCH: 'LEDGER.CHAIN_PREVIOUS_HASH_MISMATCH',
  /** next.firstLeafIndex is not prev.treeSize. */
  LEAF_INDEX_GAP: 'LEDGER.CHAIN_LEAF_INDEX_GAP',
  /** next.sealedAt is earlier than prev.sealedAt. */
  TIME_REVERSED: 'LEDGER.CHAIN_TIME_REVERSED',
  /** next is signed by another key than prev and carries no key change record. */
  KEY_CHANGE_MISSING: 'LEDGER.CHAIN_KEY_CHANGE_MISSING',
  /**
   * next's key change record does not verify with prev's key, or names another origin, height, previous hash or
   * key than next's; or next carries one though its key is prev's.
   */
  KEY_CHANGE_INVALID: 'LEDGER.CHAIN_KEY_CHANGE_INVALID',
} as const;
export type BlockFailureCode = (typeof BlockFailure)[keyof typeof BlockFailure];

/** The named members that are present (an absent optional member, keyChange, stays absent). */
function pick<K extends string>(value: Record<string, unknown>, fields: readonly K[]): Record<K, unknown> {
  return Object.fromEntries(
    fields.filter((field) => value[field] !== undefined).map((field) => [field, value[field]]),
  ) as Record<K, unknown>;
}

/** Structural checks shared by headers and signed headers. */
function checkHeader(value: Record<string, unknown>): Failure<BlockFailureCode> | undefined {
  const malformed = (reason: string): Failure<BlockFailureCode> => fail(BlockFailure.MALFORMED, reason);
  const { height, previousHash, firstLeafIndex, leafCount, treeSize, root, sealedAt, keyId } = value;
  if (!isCount(height)) return malformed('height must be an integer ≥ 0');
  if (typeof previousHash !== 'string' || !fromBase64(previousHash, HASH_SIZE)) {
    return malformed('previousHash must be the base64 of 32 bytes');
  }
  if (!isCount(firstLeafIndex) || !isCount(leafCount) || !isCount(treeSize)) {
    return malformed('firstLeafIndex, leafCount and treeSize must be integers ≥ 0');
  }
  if (leafCount < BLOCK_MIN_LEAVES) return malformed(`a block seals at least ${BLOCK_MIN_LEAVES} leaf`);
  if (treeSize !== firstLeafIndex + leafCount) return malformed('treeSize must be firstLeafIndex + leafCount');
  if (typeof root !== 'string' || !fromBase64(root, HASH_SIZE)) return malformed('root must be the base64 of 32 bytes');
  if (!isUtcMillisTimestamp(sealedAt)) return malformed('sealedAt must be RFC 3339 UTC with milliseconds');
  if (typeof keyId !== 'string' || !/^[0-9a-f]{8}$/.test(keyId)) return malformed('keyId must be 8 lower-case hex');
  const { keyChange } = value;
  if (keyChange !== undefined) {
    if (typeof keyChange !== 'string' || keyChange.length === 0 || utf8(keyChange).length > KEY_CHANGE_MAX_BYTES) {
      return malformed(`keyChange must be a signed note of at most ${KEY_CHANGE_MAX_BYTES} bytes`);
    }
    // The genesis key is the one a verifier pins: there is no earlier key to hand over from.
    if (height === 0) return malformed('block 0 cannot carry a key change record');
  }
  if (height === 0 && (previousHash !== GENESIS_PREVIOUS_HASH || firstLeafIndex !== 0)) {
    return fail(BlockFailure.BAD_GENESIS, 'block 0 must have the genesis previousHash and firstLeafIndex 0');
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates untrusted JSON as a signed header: exactly the nine fields, plus keyChange where a key changes (an
 * unsigned extra field could mislead a reader), each well-formed. Does not verify the signature, nor the key
 * change record (verifyKeyChange, which needs the previous block). Never throws.
 */
export function parseSignedBlockHeader(value: unknown): Parsed<SignedBlockHeader, BlockFailureCode> {
  if (!isRecord(value)) return fail(BlockFailure.MALFORMED, 'a block header is a JSON object');
  const extra = Object.keys(value).filter((key) => !(SIGNED_FIELDS as readonly string[]).includes(key));
  if (extra.length > 0) return fail(BlockFailure.MALFORMED, `unknown fields: ${extra.join(', ')}`);
  const problem = checkHeader(value);
  if (problem) return problem;
  if (typeof value['signature'] !== 'string' || !fromBase64(value['signature'], ED25519_SIGNATURE_SIZE)) {
    return fail(BlockFailure.MALFORMED, 'signature must be the base64 of 64 bytes');
  }
  return { ok: true, value: pick(value, SIGNED_FIELDS) as unknown as SignedBlockHeader };
}

/** What is signed: the RFC 8785 canonical JSON of the header fields (eight, or nine with keyChange), without `signature`. */
export function headerSigningBytes(header: BlockHeader): Uint8Array {
  return canonicalBytes(pick(header as unknown as Record<string, unknown>, HEADER_FIELDS));
}

/** Signs a header. Throws if the header is malformed or `keyId` is not the signer's. */
export function signHeader(header: BlockHeader, signer: NoteSigner): SignedBlockHeader {
  const problem = checkHeader(header as unknown as Record<string, unknown>);
  if (problem) throw new LedgerCoreError(LedgerErrorCode.INVALID_BLOCK_HEADER, problem.reason);
  if (header.keyId !== signer.keyId) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_BLOCK_HEADER, `keyId ${header.keyId} is not the signer's`);
  }
  const fields = pick(header as unknown as Record<string, unknown>, HEADER_FIELDS) as unknown as BlockHeader;
  return { ...fields, signature: toBase64(signer.sign(headerSigningBytes(fields))) };
}

/** Public keys by key id: a map, or a lookup function (e.g. over a key-rotation table). */
export type PublicKeyLookup = ReadonlyMap<string, Uint8Array> | ((keyId: string) => Uint8Array | undefined);

/** Checks structure, genesis rules and the signature of an untrusted signed header. Never throws. */
export function verifyHeader(signed: unknown, publicKeyByKeyId: PublicKeyLookup): Verdict<BlockFailureCode> {
  const parsed = parseSignedBlockHeader(signed);
  if (!parsed.ok) return parsed;
  const header = parsed.value;
  const publicKey =
    typeof publicKeyByKeyId === 'function' ? publicKeyByKeyId(header.keyId) : publicKeyByKeyId.get(header.keyId);
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_SIZE) {
    return fail(BlockFailure.UNKNOWN_KEY, `no public key for key id ${header.keyId}`);
  }
  const signature = fromBase64(header.signature, ED25519_SIGNATURE_SIZE) as Uint8Array;
  return ed25519Verify(publicKey, headerSigningBytes(header), signature)
    ? { ok: true }
    : fail(BlockFailure.BAD_SIGNATURE, 'signature does not verify');
}

/**
 * SHA-256 of the canonical JSON of the signed header, signature included, so that the next block's previousHash
 * commits to this block's signature as well as its contents.
 */
export function blockHash(signed: SignedBlockHeader): Uint8Array {
  return sha256(canonicalBytes(pick(signed as unknown as Record<string, unknown>, SIGNED_FIELDS)));
}

/**
 * Checks that `next` directly follows `prev`: height + 1, previousHash = blockHash(prev), firstLeafIndex =
 * prev.treeSize (with treeSize = firstLeafIndex + leafCount checked on each header), sealedAt not earlier.
 * Signatures are verifyHeader's job. Never throws.
 */
export function verifyChainLink(prev: unknown, next: unknown): Verdict<BlockFailureCode> {
  const a = parseSignedBlockHeader(prev);
  if (!a.ok) return fail(a.code, `previous block: ${a.reason}`);
  const b = parseSignedBlockHeader(next);
  if (!b.ok) return fail(b.code, `next block: ${b.reason}`);
  const [p, n] = [a.value, b.value];
  if (n.height !== p.height + 1) return fail(BlockFailure.HEIGHT_GAP, `height ${n.height} after ${p.height}`);
  if (!bytesEqual(fromBase64(n.previousHash) as Uint8Array, blockHash(p))) {
    return fail(BlockFailure.PREVIOUS_HASH_MISMATCH, 'previousHash is not the hash of the previous block');
  }
  if (n.firstLeafIndex !== p.treeSize) {
    return fail(BlockFailure.LEAF_INDEX_GAP, `firstLeafIndex ${n.firstLeafIndex} after treeSize ${p.treeSize}`);
  }
  // Both are fixed-width UTC timestamps, so string order is time order.
  if (n.sealedAt < p.sealedAt) return fail(BlockFailure.TIME_REVERSED, `${n.sealedAt} is before ${p.sealedAt}`);
  return { ok: true };
}

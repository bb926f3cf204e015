import { bytesEqual } from './encoding';
import { fail, type Failure, LedgerCoreError, LedgerErrorCode, type Verdict } from './errors';
import { emptyRootHash, nodeHash } from './hash';
import { MemoryMerkleTree } from './memory-tree';
import { assertCount, assertHash, isHash } from './merkle';
import {
  assembleWith,
  type BigProofNodes,
  consistencyLength,
  consistencyNodes,
  consistencyRootsRfc,
  inclusionLength,
  inclusionNodes,
  inclusionRootRfc,
} from './proof-core';
import { isCount, type NodeId, toNodeId } from './tree-math';

/**
 * How to build one proof from stored node hashes. Every id is a perfect subtree, so a service that stores only
 * perfect subtrees (tiles) can fetch exactly these O(log n) hashes and hand them, in order, to `assembleProof`.
 * SPEC: transparency-dev/merkle proof.Nodes.
 */
export interface ProofNodes {
  readonly ids: readonly NodeId[];
  /**
   * When not null, ids[begin, end) (two or more, lowest level first) are the perfect subtrees under one node on
   * the tree's right border that is not perfect (the "ephemeral" node `node`). That node is not stored anywhere;
   * `assembleProof` hashes the range into the single proof element it stands for.
   */
  readonly ephemeral: { readonly begin: number; readonly end: number; readonly node: NodeId } | null;
}

function toPublic(nodes: BigProofNodes): ProofNodes {
  return {
    ids: nodes.ids.map(toNodeId),
    ephemeral: nodes.ephemeral && { ...nodes.ephemeral, node: toNodeId(nodes.ephemeral.node) },
  };
}

/** Node ids for the inclusion proof of leaf `index` in the tree of `size` leaves. Requires index < size. */
export function inclusionProofNodes(index: number, size: number): ProofNodes {
  assertCount(index, 'index');
  assertCount(size, 'size');
  if (index >= size) throw new LedgerCoreError(LedgerErrorCode.INVALID_ARGUMENT, `index ${index} >= size ${size}`);
  return toPublic(inclusionNodes(BigInt(index), BigInt(size)));
}

/**
 * Node ids for the consistency proof from `size1` to `size2`. Requires size1 ≤ size2. Sizes with nothing to prove
 * (size1 = 0 or size1 = size2) give an empty proof, which is exactly what `verifyConsistency` accepts for them.
 */
export function consistencyProofNodes(size1: number, size2: number): ProofNodes {
  assertCount(size1, 'size1');
  assertCount(size2, 'size2');
  if (size1 > size2) throw new LedgerCoreError(LedgerErrorCode.INVALID_ARGUMENT, `size1 ${size1} > size2 ${size2}`);
  if (size1 === 0 || size1 === size2) return { ids: [], ephemeral: null };
  return toPublic(consistencyNodes(BigInt(size1), BigInt(size2)));
}

/**
 * Turns the hashes of `nodes.ids` (same order) into the RFC 9162 proof: the ephemeral range, if any, is hashed
 * right to left into one element. SPEC: transparency-dev/merkle proof.Nodes.Rehash; output per RFC 9162 §2.1.3.1
 * and §2.1.4.1.
 */
export function assembleProof(nodes: ProofNodes, hashes: readonly Uint8Array[]): Uint8Array[] {
  if (hashes.length !== nodes.ids.length) {
    throw new LedgerCoreError(
      LedgerErrorCode.INVALID_ARGUMENT,
      `got ${hashes.length} hashes for ${nodes.ids.length} node ids`,
    );
  }
  hashes.forEach((hash, i) => assertHash(hash, `hashes[${i}]`));
  const { ephemeral } = nodes;
  if (ephemeral && !(ephemeral.begin >= 0 && ephemeral.begin + 2 <= ephemeral.end && ephemeral.end <= hashes.length)) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_ARGUMENT, 'ephemeral range out of bounds');
  }
  return assembleWith(nodes, hashes, nodeHash);
}

/** RFC 9162 inclusion proof from an in-memory list of leaf hashes (tests, tools, small trees). */
export function inclusionProofFromLeaves(
  leafHashes: readonly Uint8Array[],
  index: number,
  size: number = leafHashes.length,
): Uint8Array[] {
  assertCount(size, 'size');
  return new MemoryMerkleTree(leafHashes.slice(0, size)).inclusionProof(index, size);
}

/** RFC 9162 consistency proof from an in-memory list of leaf hashes (tests, tools, small trees). */
export function consistencyProofFromLeaves(
  leafHashes: readonly Uint8Array[],
  size1: number,
  size2: number = leafHashes.length,
): Uint8Array[] {
  assertCount(size2, 'size2');
  return new MemoryMerkleTree(leafHashes.slice(0, size2)).consistencyProof(size1, size2);
}

/** Why a proof did not verify. */
export const ProofFailure = {
  /** An index or size is not an integer in [0, 2^53 − 1]. */
  INVALID_SIZE: 'LEDGER.PROOF_INVALID_SIZE',
  /** Inclusion: index ≥ size. */
  INDEX_OUT_OF_RANGE: 'LEDGER.PROOF_INDEX_OUT_OF_RANGE',
  /** Consistency: size1 > size2. */
  SIZE_ORDER: 'LEDGER.PROOF_SIZE_ORDER',
  /** A leaf hash, root or proof element is not 32 bytes, or the proof is not a list. */
  MALFORMED_HASH: 'LEDGER.PROOF_MALFORMED_HASH',
  /** The proof has more or fewer elements than index and size(s) require. */
  WRONG_LENGTH: 'LEDGER.PROOF_WRONG_LENGTH',
  /** Consistency: the proof does not reproduce the old root. */
  OLD_ROOT_MISMATCH: 'LEDGER.PROOF_OLD_ROOT_MISMATCH',
  /** The proof does not reproduce the (new) root. */
  ROOT_MISMATCH: 'LEDGER.PROOF_ROOT_MISMATCH',
} as const;
export type ProofFailureCode = (typeof ProofFailure)[keyof typeof ProofFailure];
export type ProofVerdict = Verdict<ProofFailureCode>;
export type RootResult = { readonly ok: true; readonly root: Uint8Array } | Failure<ProofFailureCode>;

function checkProofList(proof: unknown): Failure<ProofFailureCode> | undefined {
  if (!Array.isArray(proof)) return fail(ProofFailure.MALFORMED_HASH, 'proof must be a list of hashes');
  const bad = proof.findIndex((element) => !isHash(element));
  return bad >= 0 ? fail(ProofFailure.MALFORMED_HASH, `proof[${bad}] is not a 32-byte hash`) : undefined;
}

/** Why an inclusion proof cannot even be walked (RFC 9162 §2.1.3.2 step 1 and the shape of its input), if it cannot. */
function checkInclusionInput(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Failure<ProofFailureCode> | undefined {
  if (!isCount(index) || !isCount(size)) return fail(ProofFailure.INVALID_SIZE, 'index and size must be integers');
  // Step 1: "If leaf_index is greater than or equal to tree_size, then stop and fail the proof verification."
  if (index >= size) return fail(ProofFailure.INDEX_OUT_OF_RANGE, `index ${index} >= size ${size}`);
  if (!isHash(leafHash)) return fail(ProofFailure.MALFORMED_HASH, 'leaf hash is not 32 bytes');
  const malformed = checkProofList(proof);
  if (malformed) return malformed;
  const expected = inclusionLength(BigInt(index), BigInt(size));
  if (proof.length !== expected) {
    return fail(ProofFailure.WRONG_LENGTH, `proof has ${proof.length} elements, index and size need ${expected}`);
  }
  return undefined;
}

/**
 * The root that an inclusion proof commits to. Never throws: crafted input gives a failure value.
 * SPEC: RFC 9162 §2.1.3.2.
 */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): RootResult {
  const refused = checkInclusionInput(leafHash, index, size, proof);
  if (refused) return refused;
  const root = inclusionRootRfc(nodeHash, leafHash, BigInt(index), BigInt(size), proof);
  // Unreachable once the length matched; kept so that the RFC's own structural checks stay authoritative.
  if (!root) return fail(ProofFailure.WRONG_LENGTH, 'proof does not fit index and size');
  return { ok: true, root };
}

/** SPEC: RFC 9162 §2.1.3.2: does `proof` show leaf `index` with `leafHash` in the tree of `size` with `root`? */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): ProofVerdict {
  const computed = rootFromInclusionProof(leafHash, index, size, proof);
  if (!computed.ok) return computed;
  if (!isHash(root)) return fail(ProofFailure.MALFORMED_HASH, 'root is not 32 bytes');
  return bytesEqual(computed.root, root) ? { ok: true } : fail(ProofFailure.ROOT_MISMATCH, 'computed root differs');
}

/**
 * Nodes of one tree (one size and one root) that an accepted inclusion proof has shown to be in it, by level and
 * index: what {@link verifyInclusionRemembering} learns from each proof it accepts, so that the next proof in the
 * same tree stops hashing where it reaches a node already shown.
 */
export class ProvenNodes {
  /** By level, then index (numbers as keys: no key string built per look-up). */
  private readonly levels: Array<Map<number, Uint8Array>> = [];
  private stored = 0;
  /** Node hashes computed by the proofs checked in this tree so far (what remembering saves shows here). */
  hashesComputed = 0;

  constructor(
    readonly size: number,
    readonly root: Uint8Array,
  ) {}

  get count(): number {
    return this.stored;
  }

  get(level: number, index: number): Uint8Array | undefined {
    return this.levels[level]?.get(index);
  }

  /** Keeps a copy: a hash that is a view of a larger buffer (Buffer's shared pool) must not keep all of it alive. */
  add(level: number, index: number, hash: Uint8Array): void {
    const nodes = (this.levels[level] ??= new Map());
    if (nodes.has(index)) return;
    nodes.set(index, Uint8Array.from(hash));
    this.stored += 1;
  }
}

/**
 * {@link verifyInclusion} in the tree of `proven` (its size and root), with the same verdict for every input, at
 * a fraction of the hashing when many leaves of one tree are checked (a producer batch: ~2 node hashes per event
 * instead of log2(size)).
 *
 * The RFC 9162 §2.1.3.2 walk, also tracking the level and index of each node it computes and of each sibling it is
 * given. When a computed node equals a proven node and every remaining proof element equals the proven sibling at
 * its place, the rest of the walk can only end in the proven root: accepted without hashing further. Otherwise the
 * walk goes on to the root as usual. A proof that reaches the root adds its nodes and siblings to `proven`.
 */
export function verifyInclusionRemembering(
  leafHash: Uint8Array,
  index: number,
  proof: readonly Uint8Array[],
  proven: ProvenNodes,
): ProofVerdict {
  const { size, root } = proven;
  const refused = checkInclusionInput(leafHash, index, size, proof);
  if (refused) return refused;
  if (!isHash(root)) return fail(ProofFailure.MALFORMED_HASH, 'root is not 32 bytes');
  // Each step: [level, index, hash] of the sibling given and of the node computed.
  const learned: Array<[number, number, Uint8Array]> = [];
  const walk: Walk = { fn: index, sn: size - 1, level: 0 };
  let r = leafHash;
  for (let i = 0; i < proof.length; i++) {
    const p = proof[i] as Uint8Array;
    const sibling = siblingIndex(walk);
    learned.push([walk.level, sibling, p]);
    r = sibling < walk.fn ? nodeHash(p, r) : nodeHash(r, p);
    proven.hashesComputed += 1;
    walkUp(walk);
    learned.push([walk.level, walk.fn, r]);
    const known = proven.get(walk.level, walk.fn);
    if (known && bytesEqual(known, r) && restIsProven(proof, i + 1, { ...walk }, proven)) {
      for (const [l, n, hash] of learned) proven.add(l, n, hash);
      return { ok: true };
    }
  }
  if (!bytesEqual(r, root)) return fail(ProofFailure.ROOT_MISMATCH, 'computed root differs');
  for (const [l, n, hash] of learned) proven.add(l, n, hash);
  return { ok: true };
}

/**
 * Where the RFC 9162 §2.1.3.2 walk is: node `fn` of `level`, whose last node is `sn`. Numbers, exact below 2^53
 * (the walk of inclusionRootRfc in bigint, with the level it does not need).
 */
interface Walk {
  fn: number;
  sn: number;
  level: number;
}

/**
 * The index of the current node's sibling at its level. A last node with no right sibling is first moved up to
 * where it has one (the same hash: RFC 9162's inner right-shift, done before hashing so that the sibling's
 * coordinates are known). The sibling is on the left when its index is below `walk.fn`.
 */
function siblingIndex(walk: Walk): number {
  if (walk.fn % 2 === 0 && walk.fn !== walk.sn) return walk.fn + 1;
  while (walk.fn % 2 === 0 && walk.fn !== 0) walkUp(walk);
  return walk.fn - 1;
}

function walkUp(walk: Walk): void {
  walk.fn = Math.floor(walk.fn / 2);
  walk.sn = Math.floor(walk.sn / 2);
  walk.level += 1;
}

/** Whether proof[from..] are exactly the proven siblings on the way up from the walk's node. No hashing. */
function restIsProven(proof: readonly Uint8Array[], from: number, walk: Walk, proven: ProvenNodes): boolean {
  for (let i = from; i < proof.length; i++) {
    const known = proven.get(walk.level, siblingIndex(walk));
    if (!known || !bytesEqual(known, proof[i] as Uint8Array)) return false;
    walkUp(walk);
  }
  return true;
}

/**
 * SPEC: RFC 9162 §2.1.4.2: does `proof` show that the tree of `size2` with `root2` extends the tree of `size1`
 * with `root1`? Never throws.
 *
 * Cases the RFC algorithm leaves out, decided here so that every input has an answer:
 * - size1 = size2: consistent iff the proof is empty and root1 = root2.
 * - size1 = 0: every tree extends the empty one; the proof must be empty and root1 must be SHA-256("").
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): ProofVerdict {
  if (!isCount(size1) || !isCount(size2)) return fail(ProofFailure.INVALID_SIZE, 'sizes must be integers');
  if (size1 > size2) return fail(ProofFailure.SIZE_ORDER, `size1 ${size1} > size2 ${size2}`);
  if (!isHash(root1) || !isHash(root2)) return fail(ProofFailure.MALFORMED_HASH, 'roots must be 32 bytes');
  const malformed = checkProofList(proof);
  if (malformed) return malformed;

  if (size1 === size2 || size1 === 0) {
    if (proof.length !== 0) return fail(ProofFailure.WRONG_LENGTH, 'nothing to prove: the proof must be empty');
    if (size1 === 0) {
      return bytesEqual(root1, emptyRootHash())
        ? { ok: true }
        : fail(ProofFailure.OLD_ROOT_MISMATCH, 'the root of the empty tree is SHA-256("")');
    }
    return bytesEqual(root1, root2) ? { ok: true } : fail(ProofFailure.ROOT_MISMATCH, 'same size, different roots');
  }

  const [big1, big2] = [BigInt(size1), BigInt(size2)];
  // Step 1 ("If consistency_path is an empty array, stop and fail") is covered: the expected length is ≥ 1.
  const expected = consistencyLength(big1, big2);
  if (proof.length !== expected) {
    return fail(ProofFailure.WRONG_LENGTH, `proof has ${proof.length} elements, the sizes need ${expected}`);
  }
  const roots = consistencyRootsRfc(nodeHash, big1, big2, proof, root1);
  if (!roots) return fail(ProofFailure.WRONG_LENGTH, 'proof does not fit the sizes');
  // Step 7: "verify that fr is equal to first_hash and sr is equal to second_hash".
  if (!bytesEqual(roots.first, root1)) return fail(ProofFailure.OLD_ROOT_MISMATCH, 'proof does not give root1');
  if (!bytesEqual(roots.second, root2)) return fail(ProofFailure.ROOT_MISMATCH, 'proof does not give root2');
  return { ok: true };
}

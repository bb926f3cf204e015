/**
 * @internal Proof algorithms written over an abstract hash type H, so the tests can run them with a symbolic
 * "hash" that records the tree shape and exercise indexes near 2^40 and 2^53 without building such trees.
 * The public, byte-level API is proof.ts; this module is not exported from the package index.
 */
import { bitLength, type BigNode, isPowerOfTwo, popCount, rangeNodes, trailingZeros } from './tree-math';

export type NodeHasher<H> = (left: H, right: H) => H;

/** Which stored nodes make up a proof, and which of them are hashed together first. */
export interface BigProofNodes {
  readonly ids: BigNode[];
  /** ids[begin, end), two or more, are re-hashed into one proof element (the "ephemeral" node); else null. */
  readonly ephemeral: { readonly begin: number; readonly end: number; readonly node: BigNode } | null;
}

function coverage(node: BigNode): [bigint, bigint] {
  const level = BigInt(node.level);
  return [node.index << level, (node.index + 1n) << level];
}

interface RawNodes {
  ids: BigNode[];
  begin: number;
  end: number;
  ephem: BigNode;
}

// SPEC: transparency-dev/merkle proof.nodes: the node ids proving that node (level, index) is in the tree of
// `size` leaves. The seed node comes first, then its siblings up to the "fork" (where the path to the seed leaves
// the path to the tree's right edge), then the perfect subtrees under the fork's sibling (the ephemeral node,
// lowest first), then the perfect subtrees left of the fork (lowest first).
function proofNodes(index: bigint, level: number, size: bigint): RawNodes {
  const inner = bitLength(index ^ (size >> BigInt(level))) - 1;
  const fork: BigNode = { level: level + inner, index: index >> BigInt(inner) };
  const [begin, end] = coverage(fork);

  const ids: BigNode[] = [{ level, index }];
  let node: BigNode = { level, index };
  while (node.level < fork.level) {
    ids.push({ level: node.level, index: node.index ^ 1n });
    node = { level: node.level + 1, index: node.index >> 1n };
  }
  const len1 = ids.length;
  ids.push(...rangeNodes(end, size).reverse());
  const len2 = ids.length;
  ids.push(...rangeNodes(0n, begin).reverse());
  return { ids, begin: len1, end: len2, ephem: { level: fork.level, index: fork.index ^ 1n } };
}

function skipFirst(raw: RawNodes): RawNodes {
  return { ids: raw.ids.slice(1), begin: raw.begin - 1, end: raw.end - 1, ephem: raw.ephem };
}

// A single node under the ephemeral node needs no re-hashing: it is the proof element itself. Reporting only real
// re-hash ranges keeps the contract simple: "ids[begin, end) collapse into one hash".
function finish(raw: RawNodes): BigProofNodes {
  const ephemeral = raw.end - raw.begin >= 2 ? { begin: raw.begin, end: raw.end, node: raw.ephem } : null;
  return { ids: raw.ids, ephemeral };
}

/** SPEC: transparency-dev/merkle proof.Inclusion. Requires 0 ≤ index < size. */
export function inclusionNodes(index: bigint, size: bigint): BigProofNodes {
  return finish(skipFirst(proofNodes(index, 0, size)));
}

/** SPEC: transparency-dev/merkle proof.Consistency. Requires 0 < size1 < size2. */
export function consistencyNodes(size1: bigint, size2: bigint): BigProofNodes {
  // The biggest perfect subtree of [0, size1) that ends at size1 ...
  const level = trailingZeros(size1);
  const index = (size1 - 1n) >> BigInt(level);
  // ... and its inclusion proof in the tree of size2. When size1 is a power of two that subtree is the old root,
  // which the verifier already holds, so it is left out.
  const raw = proofNodes(index, level, size2);
  return finish(isPowerOfTwo(size1) ? skipFirst(raw) : raw);
}

/** SPEC: transparency-dev/merkle proof.Nodes.Rehash: hashes of `ids`, in order, into the RFC 9162 proof. */
export function assembleWith<H>(
  nodes: { readonly ephemeral: { readonly begin: number; readonly end: number } | null },
  hashes: readonly H[],
  hash: NodeHasher<H>,
): H[] {
  const { ephemeral } = nodes;
  if (!ephemeral) return [...hashes];
  let merged = hashes[ephemeral.begin] as H;
  // The ephemeral range is ordered lowest (rightmost) first, so each next node is the left sibling.
  for (let i = ephemeral.begin + 1; i < ephemeral.end; i++) merged = hash(hashes[i] as H, merged);
  return [...hashes.slice(0, ephemeral.begin), merged, ...hashes.slice(ephemeral.end)];
}

/** Expected inclusion proof length: levels below the fork with the right edge, plus left-border nodes above. */
export function inclusionLength(index: bigint, size: bigint): number {
  const inner = bitLength(index ^ (size - 1n));
  return inner + popCount(index >> BigInt(inner));
}

/** Expected consistency proof length for 0 < size1 < size2. */
export function consistencyLength(size1: bigint, size2: bigint): number {
  const shift = trailingZeros(size1);
  const inner = bitLength((size1 - 1n) ^ (size2 - 1n)) - shift;
  const border = popCount((size1 - 1n) >> BigInt(inner + shift));
  return (isPowerOfTwo(size1) ? 0 : 1) + inner + border;
}

/**
 * SPEC: RFC 9162 §2.1.3.2 (verifying an inclusion proof), steps 2–5, returning the computed root, or undefined
 * where the RFC says "fail" for structural reasons (the path is too long or too short for index and size).
 * Requires 0 ≤ index < size (step 1 is the caller's).
 */
export function inclusionRootRfc<H>(
  hash: NodeHasher<H>,
  leaf: H,
  index: bigint,
  size: bigint,
  path: readonly H[],
): H | undefined {
  let fn = index;
  let sn = size - 1n;
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) return undefined;
    if ((fn & 1n) === 1n || fn === sn) {
      r = hash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = hash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : undefined;
}

/**
 * SPEC: RFC 9162 §2.1.4.2 (verifying consistency between two tree heads), steps 2–7, returning the two roots the
 * path commits to, or undefined where the RFC says "fail" for structural reasons. Requires 0 < size1 < size2 and
 * a non-empty path (step 1 is the caller's).
 */
export function consistencyRootsRfc<H>(
  hash: NodeHasher<H>,
  size1: bigint,
  size2: bigint,
  proof: readonly H[],
  root1: H,
): { first: H; second: H } | undefined {
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0] as H;
  let sr = path[0] as H;
  for (const c of path.slice(1)) {
    if (sn === 0n) return undefined;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = hash(c, fr);
      sr = hash(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = hash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? { first: fr, second: sr } : undefined;
}

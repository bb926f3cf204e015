import { createHash, hash as oneShotHash } from 'node:crypto';

/** SHA-256 output size in bytes; every leaf, node and root hash has this length. */
export const HASH_SIZE = 32;

/**
 * Where digests are kept. node:crypto returns each digest in a Buffer over an ArrayBuffer of its own, an external
 * allocation the garbage collector tracks and sweeps, and that costs more than hashing a node: measured here
 * (Node 20.20), a 65-byte node hash took 0.9–1.4 µs returned as a Buffer and 0.4 µs returned as a 'binary'
 * (latin1: one character per byte, lossless) string written into a slab. Each hash is a view of its own 32 bytes of
 * a slab, so writing to one never changes another; a slab stays allocated while any of its hashes is reachable, so
 * callers that keep a few hashes for a long time among many short-lived ones should keep copies (`slice`).
 */
const SLAB_BYTES = 256 * HASH_SIZE;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

/** The next free 32 bytes of the current slab (a new slab when it is full), as their offset in `slab`. */
function claimSlot(): number {
  if (slabUsed === SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const at = slabUsed;
  slabUsed += HASH_SIZE;
  return at;
}

function inSlab(digest: string): Uint8Array {
  const at = claimSlot();
  slab.write(digest, at, HASH_SIZE, 'latin1');
  return new Uint8Array(slab.buffer, slab.byteOffset + at, HASH_SIZE);
}

/** A copy of a 32-byte hash that shares nothing with `hash` (kept in a slab, see above). */
export function copyHash(hash: Uint8Array): Uint8Array {
  const at = claimSlot();
  slab.set(hash.subarray(0, HASH_SIZE), at);
  return new Uint8Array(slab.buffer, slab.byteOffset + at, HASH_SIZE);
}

export function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  const hasher = createHash('sha256');
  for (const part of parts) hasher.update(part);
  return inSlab(hasher.digest('binary'));
}

// SPEC: RFC 6962 §2.1: leaves and interior nodes get different one-byte prefixes (0x00, 0x01), so a leaf can
// never be passed off as an interior node (second-preimage resistance).
const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

/**
 * The hash input is written into a scratch buffer that is reused (the one-shot digest is synchronous). It is a
 * Buffer because node:crypto's one-shot hash takes about 1.0 µs on a 65-byte Buffer and 1.8 µs on the same bytes in
 * a plain Uint8Array (Node 20.20, measured while writing bench/merkle.bench.ts).
 */
let scratch = Buffer.allocUnsafeSlow(4096);

/** The scratch buffer, grown if it is shorter than `length`. */
function scratchFor(length: number): Buffer {
  if (length > scratch.length) scratch = Buffer.allocUnsafeSlow(Math.max(length, 2 * scratch.length));
  return scratch;
}

/** SPEC: RFC 6962 §2.1: MTH({d(0)}) = SHA-256(0x00 || d(0)). */
export function leafHash(data: Uint8Array): Uint8Array {
  const length = 1 + data.length;
  const input = scratchFor(length);
  input[0] = LEAF_PREFIX;
  input.set(data, 1);
  return inSlab(oneShotHash('sha256', input.subarray(0, length), 'binary'));
}

/** SPEC: RFC 6962 §2.1: MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  // The inner loop of every root, proof and tile.
  const length = 1 + left.length + right.length;
  const input = scratchFor(length);
  input[0] = NODE_PREFIX;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return inSlab(oneShotHash('sha256', input.subarray(0, length), 'binary'));
}

/**
 * SPEC: RFC 6962 §2.1: the hash of an empty list is the hash of an empty string, SHA-256("").
 * Treat as read-only: Uint8Array cannot be frozen. This module keeps its own copy.
 */
export const EMPTY_ROOT: Uint8Array = sha256();

const emptyRoot = sha256();

/** A fresh copy of SHA-256(""), safe for callers that mutate buffers. */
export function emptyRootHash(): Uint8Array {
  return emptyRoot.slice();
}

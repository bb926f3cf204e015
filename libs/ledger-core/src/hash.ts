import { createHash, hash as oneShotHash } from 'node:crypto';

import { plainBytes } from './encoding';

/** SHA-256 output size in bytes; every leaf, node and root hash has this length. */
export const HASH_SIZE = 32;

export function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  const hasher = createHash('sha256');
  for (const part of parts) hasher.update(part);
  return plainBytes(hasher.digest());
}

// SPEC: RFC 6962 §2.1: leaves and interior nodes get different one-byte prefixes (0x00, 0x01), so a leaf can
// never be passed off as an interior node (second-preimage resistance).
const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

/** SPEC: RFC 6962 §2.1: MTH({d(0)}) = SHA-256(0x00 || d(0)). */
export function leafHash(data: Uint8Array): Uint8Array {
  const input = Buffer.allocUnsafe(1 + data.length);
  input[0] = LEAF_PREFIX;
  input.set(data, 1);
  return plainBytes(oneShotHash('sha256', input, 'buffer'));
}

/** SPEC: RFC 6962 §2.1: MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  // One allocation and the one-shot digest: this is the inner loop of every root, proof and tile. The input is a
  // Buffer because node:crypto's one-shot hash takes about 1.0 µs on a 65-byte Buffer and 1.8 µs on the same bytes
  // in a plain Uint8Array (Node 20.20, measured while writing bench/merkle.bench.ts). Every byte is overwritten, so
  // allocUnsafe is safe.
  const input = Buffer.allocUnsafe(1 + left.length + right.length);
  input[0] = NODE_PREFIX;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return plainBytes(oneShotHash('sha256', input, 'buffer'));
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

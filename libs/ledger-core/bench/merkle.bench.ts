/**
 * Micro-benchmark of the Merkle log primitives. Prints a table, then one JSON line (the last line) for tooling.
 *
 *   npx tsx --tsconfig tsconfig.base.json libs/ledger-core/bench/merkle.bench.ts
 *
 * Numbers are for one core of the machine it runs on; record results in docs/, not in tests.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import {
  appendToTiles,
  assembleProof,
  consistencyProofNodes,
  inclusionProofNodes,
  leafHash,
  MemoryMerkleTree,
  nodeHashesFromTiles,
  type Tile,
  tilesForNodes,
  verifyConsistency,
  verifyInclusion,
} from '../src/index';

const LEAF_BYTES = 1024;
const HASH_LEAVES = 20_000;
const TILE_LEAVES = 10_000;
const BLOCK_SIZE = 500;
const PROOF_SAMPLES = 2_000;
const TREE_SIZE = 100_000;

function time<T>(run: () => T): { ms: number; result: T } {
  const start = performance.now();
  const result = run();
  return { ms: performance.now() - start, result };
}

// A fixed xorshift so every run asks for the same proofs.
let seed = 0x2545f491;
function randomBelow(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}

// Leaf hashing: SHA-256(0x00 || 1 KiB).
const payloads = Array.from({ length: HASH_LEAVES }, () => new Uint8Array(randomBytes(LEAF_BYTES)));
payloads.slice(0, 1000).forEach(leafHash); // warm-up
const hashing = time(() => payloads.map(leafHash));
const leavesPerSecond = HASH_LEAVES / (hashing.ms / 1000);
const mibPerSecond = (HASH_LEAVES * LEAF_BYTES) / (1024 * 1024) / (hashing.ms / 1000);

// Tile append: 10,000 leaves in blocks of BLOCK_SIZE, as the ledger would seal them.
const tileLeaves = hashing.result.slice(0, TILE_LEAVES);
const store = new Map<string, Tile>();
const appendAll = (): number => {
  let size = 0;
  let edge: readonly Tile[] = [];
  let rows = 0;
  for (let from = 0; from < tileLeaves.length; from += BLOCK_SIZE) {
    const result = appendToTiles({
      treeSize: size,
      rightEdge: edge,
      leafHashes: tileLeaves.slice(from, from + BLOCK_SIZE),
    });
    for (const tile of result.upserts) store.set(`${tile.level}/${tile.index}`, tile);
    size = result.treeSize;
    edge = result.rightEdge;
    rows += result.upserts.length;
  }
  return rows;
};
appendAll(); // warm-up
const tileAppend = time(appendAll);

// Proofs in a tree of TREE_SIZE leaves: generation from tiles (node ids, tile reads, re-hash), and verification.
const encoder = new TextEncoder();
const treeLeaves = Array.from({ length: TREE_SIZE }, (_, i) => leafHash(encoder.encode(`leaf ${i}`)));
const tree = new MemoryMerkleTree(treeLeaves);
const tiles = new Map<string, Tile>();
{
  let size = 0;
  let edge: readonly Tile[] = [];
  for (let from = 0; from < TREE_SIZE; from += 5_000) {
    const result = appendToTiles({ treeSize: size, rightEdge: edge, leafHashes: treeLeaves.slice(from, from + 5_000) });
    for (const tile of result.upserts) tiles.set(`${tile.level}/${tile.index}`, tile);
    size = result.treeSize;
    edge = result.rightEdge;
  }
}
const root = tree.root();
const readTiles = (ids: Parameters<typeof tilesForNodes>[0]): Tile[] =>
  tilesForNodes(ids).map((ref) => tiles.get(`${ref.level}/${ref.index}`) as Tile);

const indexes = Array.from({ length: PROOF_SAMPLES }, () => randomBelow(TREE_SIZE));
const inclusionGen = time(() =>
  indexes.map((index) => {
    const nodes = inclusionProofNodes(index, TREE_SIZE);
    return assembleProof(nodes, nodeHashesFromTiles(nodes.ids, readTiles(nodes.ids)));
  }),
);
const inclusionVerify = time(() =>
  indexes.map(
    (index, i) =>
      verifyInclusion(treeLeaves[index] as Uint8Array, index, TREE_SIZE, inclusionGen.result[i] as Uint8Array[], root)
        .ok,
  ),
);
if (inclusionVerify.result.some((ok) => !ok)) throw new Error('an inclusion proof failed to verify');

const olderSizes = Array.from({ length: PROOF_SAMPLES }, () => 1 + randomBelow(TREE_SIZE - 1));
const consistencyGen = time(() =>
  olderSizes.map((size1) => {
    const nodes = consistencyProofNodes(size1, TREE_SIZE);
    return assembleProof(nodes, nodeHashesFromTiles(nodes.ids, readTiles(nodes.ids)));
  }),
);
const oldRoots = olderSizes.map((size1) => tree.root(size1));
const consistencyVerify = time(() =>
  olderSizes.map(
    (size1, i) =>
      verifyConsistency(size1, TREE_SIZE, consistencyGen.result[i] as Uint8Array[], oldRoots[i] as Uint8Array, root).ok,
  ),
);
if (consistencyVerify.result.some((ok) => !ok)) throw new Error('a consistency proof failed to verify');

const us = (ms: number, count: number): number => Math.round((ms * 1000 * 10) / count) / 10;
const results = {
  node: process.version,
  leafHash1KiB: {
    leaves: HASH_LEAVES,
    leavesPerSecond: Math.round(leavesPerSecond),
    mibPerSecond: Math.round(mibPerSecond),
  },
  tileAppend: {
    leaves: TILE_LEAVES,
    blockSize: BLOCK_SIZE,
    totalMs: Math.round(tileAppend.ms * 10) / 10,
    usPerLeaf: us(tileAppend.ms, TILE_LEAVES),
    rowsUpserted: tileAppend.result,
  },
  proofs: {
    treeSize: TREE_SIZE,
    samples: PROOF_SAMPLES,
    inclusionGenerateFromTilesUs: us(inclusionGen.ms, PROOF_SAMPLES),
    inclusionVerifyUs: us(inclusionVerify.ms, PROOF_SAMPLES),
    consistencyGenerateFromTilesUs: us(consistencyGen.ms, PROOF_SAMPLES),
    consistencyVerifyUs: us(consistencyVerify.ms, PROOF_SAMPLES),
  },
};

console.log(`ledger-core micro-benchmark (${process.version})`);
console.log(
  `leaf hashing, 1 KiB leaves        ${results.leafHash1KiB.leavesPerSecond} leaves/s (${results.leafHash1KiB.mibPerSecond} MiB/s)`,
);
console.log(
  `tile append, ${TILE_LEAVES} leaves       ${results.tileAppend.totalMs} ms in blocks of ${BLOCK_SIZE} (${results.tileAppend.usPerLeaf} µs/leaf, ${results.tileAppend.rowsUpserted} rows upserted)`,
);
console.log(
  `inclusion proof, n=${TREE_SIZE}     generate from tiles ${results.proofs.inclusionGenerateFromTilesUs} µs, verify ${results.proofs.inclusionVerifyUs} µs`,
);
console.log(
  `consistency proof, n=${TREE_SIZE}   generate from tiles ${results.proofs.consistencyGenerateFromTilesUs} µs, verify ${results.proofs.consistencyVerifyUs} µs`,
);
console.log(JSON.stringify(results));

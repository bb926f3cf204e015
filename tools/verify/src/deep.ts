import { randomInt } from 'node:crypto';
import { bytesEqual, fromBase64, leafHash, verifyConsistency, verifyInclusion } from '@medledger/ledger-core';
import { finding, VerifyCode, type Finding } from './codes';
import { LedgerProblem } from './http';

/**
 * `chain --deep`: beyond recomputing every root from the leaves, the proofs the ledger serves from its stored tree
 * (its tiles, which the chain check never reads) must verify against the roots the chain check verified. A ledger
 * whose stored tree went wrong while its leaves stayed right passes the chain check and still hands its users
 * proofs that fail; this finds it.
 */

/** Event ids per `GET /v1/blocks/{height}/proofs` (the ledger's MAX_PROOF_EVENTS). */
export const PROOF_EVENTS_PER_REQUEST = 200;

/**
 * Leaves whose inclusion proofs `--deep` checks when `--sample` is not given: a log of at most this many leaves is
 * checked whole. A larger one gets a uniform random sample of this size: ~50 requests of 200 proofs, about 1 MB of
 * memory, seconds against a local ledger; a changed hash that 1 % of the leaves' proofs read is then missed with
 * probability 0.99^10,000 < 10^-43.
 */
export const DEFAULT_SAMPLE = 10_000;

/** `--sample`: a number of leaves, or every leaf. */
export type SampleSize = number | 'all';

export function parseSample(value: string | undefined): SampleSize | undefined {
  if (value === undefined) return DEFAULT_SAMPLE;
  if (value === 'all') return 'all';
  if (!/^[1-9]\d{0,15}$/.test(value) || !Number.isSafeInteger(Number(value))) return undefined;
  return Number(value);
}

/**
 * The leaf indexes to check in a log of `size` leaves: all of them when the sample is at least the log, otherwise
 * `sample` distinct indexes drawn uniformly (Floyd's algorithm: O(sample) time and memory) with a CSPRNG, so that a
 * ledger cannot tell in advance which proofs will be checked.
 */
export function sampleLeaves(
  size: number,
  sample: SampleSize,
  random: (min: number, max: number) => number = randomInt,
): 'all' | Set<number> {
  if (sample === 'all' || sample >= size) return 'all';
  const chosen = new Set<number>();
  for (let j = size - sample; j < size; j++) {
    const t = random(0, j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return chosen;
}

/** A block the chain check verified: its signed tree size and root, and its hash. */
interface RecordedBlock {
  readonly height: number;
  readonly firstLeafIndex: number;
  readonly treeSize: number;
  readonly root: string;
  readonly hash: string;
}

/** A sampled leaf the chain check verified: its event id and leaf hash (about 100 bytes, not the whole leaf). */
interface RecordedLeaf {
  readonly index: number;
  readonly eventId: string;
  readonly hash: Uint8Array;
}

/**
 * Takes note of the blocks and the sampled leaves as `verifyChain` reads them (it is handed the wrapped streams).
 * What was noted is untrusted until `verifyChain` returns ok: it stops at the first bad block, so then every block
 * and leaf that went through was verified, and the noted roots are signed roots.
 */
export class DeepRecorder {
  readonly blocks: RecordedBlock[] = [];
  readonly leaves: RecordedLeaf[] = [];

  constructor(private readonly sample: 'all' | ReadonlySet<number>) {}

  get all(): boolean {
    return this.sample === 'all';
  }

  wrap(streams: { blocks: AsyncIterable<unknown>; leaves: AsyncIterable<unknown> }) {
    return { blocks: this.blockStream(streams.blocks), leaves: this.leafStream(streams.leaves) };
  }

  private async *blockStream(source: AsyncIterable<unknown>): AsyncGenerator<unknown> {
    for await (const block of source) {
      const { height, firstLeafIndex, treeSize, root, hash } = (block ?? {}) as Record<string, unknown>;
      if (
        typeof height === 'number' &&
        typeof firstLeafIndex === 'number' &&
        typeof treeSize === 'number' &&
        typeof root === 'string' &&
        typeof hash === 'string'
      ) {
        this.blocks.push({ height, firstLeafIndex, treeSize, root, hash });
      }
      yield block;
    }
  }

  private async *leafStream(source: AsyncIterable<unknown>): AsyncGenerator<unknown> {
    for await (const leaf of source) {
      const { index, eventId, leafData } = (leaf ?? {}) as Record<string, unknown>;
      if (
        typeof index === 'number' &&
        (this.sample === 'all' || this.sample.has(index)) &&
        typeof eventId === 'string' &&
        typeof leafData === 'string'
      ) {
        const data = fromBase64(leafData);
        if (data) this.leaves.push({ index, eventId, hash: leafHash(data) });
      }
      yield leaf;
    }
  }
}

/** The ledger's proof endpoints (LedgerClient). Answers are untrusted; a refusal throws LedgerProblem. */
export interface ServedProofs {
  consistencyProof(from: number, to: number): Promise<readonly unknown[]>;
  blockProofs(height: number, eventIds: readonly string[]): Promise<unknown>;
}

export interface DeepSummary {
  readonly ok: true;
  /** Consistency proofs checked: one per block after the first. */
  readonly consistency: number;
  /** Inclusion proofs checked. */
  readonly inclusion: number;
}

function hashesOf(value: unknown): Uint8Array[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const hashes = value.map((element) => (typeof element === 'string' ? fromBase64(element, 32) : undefined));
  return hashes.every((hash): hash is Uint8Array => hash !== undefined) ? hashes : undefined;
}

function refused(error: unknown): string | undefined {
  return error instanceof LedgerProblem ? error.message : undefined;
}

/**
 * Checks the proofs the ledger serves against what `verifyChain` verified (`recorder`, after it returned ok), block
 * by block, stopping at the first that fails:
 *
 * 1. block h > 0: `GET /v1/proofs/consistency?from=<block h−1's size>&to=<block h's size>` verifies (RFC 9162
 *    §2.1.4.2) from block h − 1's signed root to block h's;
 * 2. each sampled leaf of block h: `GET /v1/blocks/{h}/proofs` (200 ids a request) answers block h itself (same
 *    hash), the leaf at its index with the very bytes verified, and an inclusion proof (RFC 9162 §2.1.3.2) into
 *    block h's signed root.
 *
 * A proof that does not verify is `VERIFY.SERVED_PROOF_INVALID`, a refused one (a problem+json answer, such as the
 * ledger's own `LEDGER.TILES_CORRUPT`) `VERIFY.PROOF_REFUSED`; both name the block, and the leaf when there is one.
 * Transport failures propagate (could not verify).
 */
export async function verifyServedProofs(
  recorder: DeepRecorder,
  source: ServedProofs,
  onProgress?: (checked: number) => void,
): Promise<DeepSummary | Finding> {
  let consistency = 0;
  let inclusion = 0;
  let next = 0; // the first recorded leaf not yet checked
  let previous: RecordedBlock | undefined;
  for (const block of recorder.blocks) {
    const at = { height: block.height };
    const root = fromBase64(block.root, 32) as Uint8Array;
    if (previous && previous.treeSize > 0 && previous.treeSize < block.treeSize) {
      const { treeSize: from } = previous;
      const to = block.treeSize;
      const where = `block ${block.height}: consistency from tree size ${from} (block ${previous.height}) to ${to}`;
      let answer: readonly unknown[];
      try {
        answer = await source.consistencyProof(from, to);
      } catch (error) {
        const reason = refused(error);
        if (reason === undefined) throw error;
        return finding(VerifyCode.PROOF_REFUSED, `${where}: the ledger refused to serve the proof (${reason})`, at);
      }
      const proof = hashesOf(answer);
      const verdict = proof
        ? verifyConsistency(from, to, proof, fromBase64(previous.root, 32) as Uint8Array, root)
        : { ok: false as const, reason: 'an element is not a 32-byte base64 hash' };
      if (!verdict.ok) {
        return finding(
          VerifyCode.SERVED_PROOF_INVALID,
          `${where}: served proof does not verify (${verdict.reason})`,
          at,
        );
      }
      consistency++;
      onProgress?.(consistency + inclusion);
    }

    const mine: RecordedLeaf[] = [];
    while (next < recorder.leaves.length && (recorder.leaves[next] as RecordedLeaf).index < block.treeSize) {
      mine.push(recorder.leaves[next] as RecordedLeaf);
      next++;
    }
    for (let i = 0; i < mine.length; i += PROOF_EVENTS_PER_REQUEST) {
      const chunk = mine.slice(i, i + PROOF_EVENTS_PER_REQUEST);
      let failure = await checkLeaves(block, root, chunk, source);
      // A refused request names no leaf: ask again one leaf at a time to name the first that is refused.
      if (failure === 'refused') {
        for (const leaf of chunk) {
          failure = await checkLeaves(block, root, [leaf], source);
          if (failure) break;
        }
      }
      if (failure === 'refused') {
        return finding(VerifyCode.PROOF_REFUSED, `block ${block.height}: the ledger refused a batch it then served`);
      }
      if (failure) return failure;
      inclusion += chunk.length;
      onProgress?.(consistency + inclusion);
    }
    previous = block;
  }
  return { ok: true, consistency, inclusion };
}

/** One `GET /v1/blocks/{h}/proofs` for these leaves of block h; 'refused' when the ledger refused a batch. */
async function checkLeaves(
  block: RecordedBlock,
  root: Uint8Array,
  leaves: readonly RecordedLeaf[],
  source: ServedProofs,
): Promise<Finding | 'refused' | undefined> {
  const first = leaves[0] as RecordedLeaf;
  let answer: unknown;
  try {
    answer = await source.blockProofs(
      block.height,
      leaves.map((leaf) => leaf.eventId),
    );
  } catch (error) {
    const reason = refused(error);
    if (reason === undefined) throw error;
    if (leaves.length > 1) return 'refused';
    return finding(
      VerifyCode.PROOF_REFUSED,
      `block ${block.height}: leaf ${first.index}: the ledger refused to serve its proof (${reason})`,
      { height: block.height, leafIndex: first.index },
    );
  }
  const { block: served, proofs } = (answer ?? {}) as { block?: unknown; proofs?: unknown };
  if ((served as { hash?: unknown } | undefined)?.hash !== block.hash) {
    return finding(
      VerifyCode.SERVED_PROOF_INVALID,
      `block ${block.height}: served proof does not verify (the answer is for another block than the one verified)`,
      { height: block.height },
    );
  }
  const byId = new Map<string, Record<string, unknown>>();
  if (Array.isArray(proofs)) {
    for (const proof of proofs as unknown[]) {
      const id = (proof as { eventId?: unknown } | null)?.eventId;
      if (typeof id === 'string' && !byId.has(id)) byId.set(id, proof as Record<string, unknown>);
    }
  }
  for (const leaf of leaves) {
    const where = `block ${block.height}: leaf ${leaf.index}`;
    const at = { height: block.height, leafIndex: leaf.index };
    const proof = byId.get(leaf.eventId);
    if (!proof) {
      return finding(
        VerifyCode.SERVED_PROOF_INVALID,
        `${where}: served proof does not verify (no proof served for event ${JSON.stringify(leaf.eventId)})`,
        at,
      );
    }
    const data = typeof proof['leafData'] === 'string' ? fromBase64(proof['leafData']) : undefined;
    if (proof['index'] !== leaf.index || !data || !bytesEqual(leafHash(data), leaf.hash)) {
      return finding(
        VerifyCode.SERVED_PROOF_INVALID,
        `${where}: served proof does not verify (it is for another leaf than the one verified at this index)`,
        at,
      );
    }
    const hashes = hashesOf(proof['hashes']);
    const verdict = hashes
      ? verifyInclusion(leaf.hash, leaf.index, block.treeSize, hashes, root)
      : { ok: false as const, reason: 'an element is not a 32-byte base64 hash' };
    if (!verdict.ok) {
      return finding(
        VerifyCode.SERVED_PROOF_INVALID,
        `${where}: served proof does not verify (inclusion into tree size ${block.treeSize}: ${verdict.reason})`,
        at,
      );
    }
  }
  return undefined;
}

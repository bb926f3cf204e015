import { toBase64 } from '@medledger/ledger-core';
import { containing, matching } from '../test/matchers';
import { at, blockOf, buildLedger, keysOf, stream, type TestLedger } from '../test/test-ledger';
import { verifyChain } from './chain-verifier';
import { VerifyCode } from './codes';
import { DeepRecorder, parseSample, sampleLeaves, verifyServedProofs, type ServedProofs } from './deep';
import { LedgerProblem } from './http';

/** What an honest ledger serves: proofs computed from its leaves (as the ledger does from its tiles). */
function honest(ledger: TestLedger): ServedProofs & { requests: string[] } {
  const requests: string[] = [];
  return {
    requests,
    consistencyProof: (from, to) => {
      requests.push(`consistency ${from} ${to}`);
      return Promise.resolve(ledger.tree.consistencyProof(from, to).map(toBase64));
    },
    blockProofs: (height, eventIds) => {
      requests.push(`block ${height}: ${eventIds.length}`);
      const block = at(ledger.blocks, height);
      const proofs = ledger.leaves
        .filter((leaf) => eventIds.includes(leaf.eventId) && blockOf(ledger, leaf.index) === height)
        .map((leaf) => ({ ...leaf, hashes: ledger.tree.inclusionProof(leaf.index, block.treeSize).map(toBase64) }));
      return Promise.resolve({ block, proofs, absent: [] });
    },
  };
}

/** Runs the chain check through a recorder, then the deep check against `served`. */
async function deep(ledger: TestLedger, served: ServedProofs, sample: 'all' | Set<number> = 'all') {
  const recorder = new DeepRecorder(sample);
  const chain = await verifyChain({
    keys: keysOf(...ledger.signers),
    checkpoint: ledger.checkpoint,
    ...recorder.wrap({ blocks: stream(ledger.blocks), leaves: stream(ledger.leaves) }),
  });
  expect(chain.ok).toBe(true); // the stored tree is wrong, not the leaves: the chain check passes
  return verifyServedProofs(recorder, served);
}

/** `hashes` with one bit of element `element` flipped. */
function flipped(hashes: readonly unknown[], element = 0): unknown[] {
  return hashes.map((hash, i) => {
    if (i !== element) return hash;
    const bytes = Buffer.from(hash as string, 'base64');
    bytes[3] = (bytes[3] as number) ^ 0x10;
    return bytes.toString('base64');
  });
}

describe('chain --deep: the proofs a ledger serves', () => {
  // Blocks of 3, 5, 1, 8, 4, 300 and 2 leaves: one block needs two requests of 200 ids.
  const ledger = buildLedger({ blockSizes: [3, 5, 1, 8, 4, 300, 2] });

  it('checks a consistency proof per block after the first and an inclusion proof per leaf', async () => {
    const served = honest(ledger);
    expect(await deep(ledger, served)).toEqual({ ok: true, consistency: 6, inclusion: 323 });
    expect(served.requests).toContain('consistency 21 321');
    expect(served.requests.filter((r) => r.startsWith('block 5:'))).toEqual(['block 5: 200', 'block 5: 100']);
  });

  it('checks only the sampled leaves', async () => {
    const served = honest(ledger);
    expect(await deep(ledger, served, new Set([0, 250, 322]))).toEqual({ ok: true, consistency: 6, inclusion: 3 });
    expect(served.requests.filter((r) => r.startsWith('block'))).toEqual(['block 0: 1', 'block 5: 1', 'block 6: 1']);
  });

  it('names the block and leaf whose served inclusion proof does not verify', async () => {
    const served = honest(ledger);
    const lying: ServedProofs = {
      ...served,
      blockProofs: async (height, ids) => {
        const answer = (await served.blockProofs(height, ids)) as {
          proofs: Array<{ index: number; hashes: unknown[] }>;
        };
        for (const proof of answer.proofs) if (proof.index === 123) proof.hashes = flipped(proof.hashes, 2);
        return answer;
      },
    };
    expect(await deep(ledger, lying)).toMatchObject({
      ok: false,
      code: VerifyCode.SERVED_PROOF_INVALID,
      height: 5,
      leafIndex: 123,
      message: matching(/^block 5: leaf 123: served proof does not verify \(inclusion into tree size 321/),
    });
  });

  it('names the block whose served consistency proof does not verify', async () => {
    const served = honest(ledger);
    const lying: ServedProofs = {
      ...served,
      consistencyProof: async (from, to) => flipped(await served.consistencyProof(from, to), from === 9 ? 1 : -1),
    };
    expect(await deep(ledger, lying)).toMatchObject({
      ok: false,
      code: VerifyCode.SERVED_PROOF_INVALID,
      height: 3,
      message: matching(/^block 3: consistency from tree size 9 \(block 2\) to 17: served proof does not verify/),
    });
  });

  it('names the first leaf whose proof the ledger refuses, asking leaf by leaf after a batch is refused', async () => {
    const served = honest(ledger);
    const corrupt = new LedgerProblem(500, 'LEDGER.TILES_CORRUPT', 'GET …: HTTP 500 LEDGER.TILES_CORRUPT: tile 0/0');
    const refusing: ServedProofs = {
      ...served,
      blockProofs: (height, ids) =>
        height === 5 && ids.includes(at(ledger.leaves, 200).eventId)
          ? Promise.reject(corrupt)
          : served.blockProofs(height, ids),
    };
    expect(await deep(ledger, refusing)).toMatchObject({
      ok: false,
      code: VerifyCode.PROOF_REFUSED,
      height: 5,
      leafIndex: 200,
      message: containing('block 5: leaf 200: the ledger refused to serve its proof (GET …: HTTP 500'),
    });
  });

  it('refuses an answer for another leaf or another block', async () => {
    const served = honest(ledger);
    const otherLeaf: ServedProofs = {
      ...served,
      blockProofs: async (height, ids) => {
        const answer = (await served.blockProofs(height, ids)) as { proofs: Array<Record<string, unknown>> };
        for (const proof of answer.proofs) if (proof['index'] === 4) proof['leafData'] = at(ledger.leaves, 5).leafData;
        return answer;
      },
    };
    expect(await deep(ledger, otherLeaf)).toMatchObject({
      height: 1,
      leafIndex: 4,
      code: VerifyCode.SERVED_PROOF_INVALID,
    });
    const otherBlock: ServedProofs = {
      ...served,
      blockProofs: async (height, ids) => ({
        ...((await served.blockProofs(height, ids)) as object),
        block: at(ledger.blocks, 0),
      }),
    };
    expect(await deep(ledger, otherBlock)).toMatchObject({ height: 1, code: VerifyCode.SERVED_PROOF_INVALID });
    const none: ServedProofs = {
      ...served,
      blockProofs: async (height) => ({ block: at(ledger.blocks, height), proofs: [] }),
    };
    expect(await deep(ledger, none)).toMatchObject({
      height: 0,
      leafIndex: 0,
      message: containing('no proof served for event'),
    });
  });

  it('lets a transport failure through (could not verify, not a finding)', async () => {
    const served = honest(ledger);
    const down: ServedProofs = { ...served, consistencyProof: () => Promise.reject(new Error('ECONNRESET')) };
    await expect(deep(ledger, down)).rejects.toThrow('ECONNRESET');
  });
});

describe('--sample', () => {
  it.each([
    [undefined, 10_000],
    ['all', 'all'],
    ['25', 25],
    ['0', undefined],
    ['-3', undefined],
    ['ten', undefined],
  ])('%j is %j', (value, expected) => {
    expect(parseSample(value)).toBe(expected);
  });

  it('is every leaf of a log no larger than the sample, else that many distinct leaves of the log', () => {
    expect(sampleLeaves(10_000, 10_000)).toBe('all');
    expect(sampleLeaves(50, 'all')).toBe('all');
    const chosen = sampleLeaves(1_000, 100) as Set<number>;
    expect(chosen.size).toBe(100);
    expect([...chosen].every((i) => Number.isInteger(i) && i >= 0 && i < 1_000)).toBe(true);
    // A source that always draws the top of its range still gives distinct leaves (Floyd's algorithm).
    expect([...(sampleLeaves(10, 4, (_min, max) => max - 1) as Set<number>)].sort()).toEqual([6, 7, 8, 9]);
  });
});

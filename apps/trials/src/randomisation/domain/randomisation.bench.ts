/**
 * Times a full-size list: `npx tsx --tsconfig tsconfig.base.json apps/trials/src/randomisation/domain/randomisation.bench.ts`.
 * Prints the median of 7 runs per step, then one JSON line. Not a test: numbers depend on the machine and its load.
 */
import { createHash } from 'node:crypto';
import {
  commitAllocationList,
  CommittedAllocationList,
  generateAllocationList,
  MAX_LIST_LENGTH,
  type RandomisationScheme,
  verifyAllocationProof,
  verifyRevealedList,
} from './randomisation';

const RUNS = 7;
const scheme: RandomisationScheme = {
  algorithm: 'permuted-blocks-v1',
  arms: [
    { armId: 'active', ratio: 2 },
    { armId: 'placebo', ratio: 1 },
  ],
  blockSizes: [3, 6, 9],
  listLength: MAX_LIST_LENGTH,
};

function medianMs(step: (run: number) => unknown): number {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = process.hrtime.bigint();
    step(run);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)] as number;
}

const seedOf = (run: number): Uint8Array => Uint8Array.from(createHash('sha256').update(`bench ${run}`).digest());
const committed = CommittedAllocationList.generate(seedOf(0), scheme);
const made = committed.allocations.map(({ sequence, armId }) => ({ sequence, armId }));
const proof = committed.prove(77_777);

const results = {
  listLength: MAX_LIST_LENGTH,
  generateMs: medianMs((run) => generateAllocationList(seedOf(run), scheme)),
  generateAndCommitMs: medianMs((run) => commitAllocationList(seedOf(run), scheme)),
  proveOneMs: medianMs((run) => committed.prove(1 + run * 10_000)),
  verifyProofMs: medianMs(() => verifyAllocationProof(proof, committed.commitment)),
  verifyRevealedListMs: medianMs(() => verifyRevealedList(seedOf(0), scheme, committed.commitment, made)),
};
for (const [name, value] of Object.entries(results)) console.log(`${name.padEnd(22)} ${value.toFixed(2)}`);
console.log(JSON.stringify(results));

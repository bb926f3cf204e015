/**
 * Throughput of the full chain check without the network: an in-memory ledger of LEAVES leaves in blocks of
 * BLOCK leaves (the ledger's default cut, BLOCK_MAX_EVENTS in apps/ledger/src/ledger.config.ts), verified from
 * memory and from a bundle file. Prints a table, then one JSON line.
 *
 *     npx tsx --tsconfig tsconfig.base.json tools/verify/bench/verify.bench.ts [leaves] [block]
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bundleChunks, openBundle } from '../src/bundle';
import { verifyChain } from '../src/chain-verifier';
import { buildLedger, keysOf, stream } from '../test/test-ledger';

const LEAVES = Number(process.argv[2] ?? 100_000);
const BLOCK = Number(process.argv[3] ?? 2_000);

async function main(): Promise<void> {
  const sizes = Array.from({ length: Math.ceil(LEAVES / BLOCK) }, (_, h) => Math.min(BLOCK, LEAVES - h * BLOCK));
  let t = performance.now();
  const ledger = buildLedger({ blockSizes: sizes });
  const buildMs = performance.now() - t;
  const keys = keysOf(...ledger.signers);
  const checkpoint = ledger.checkpoint;

  t = performance.now();
  const memory = await verifyChain({ keys, checkpoint, blocks: stream(ledger.blocks), leaves: stream(ledger.leaves) });
  const memoryMs = performance.now() - t;
  if (!memory.ok) throw new Error(memory.message);

  const dir = mkdtempSync(join(tmpdir(), 'verify-bench-'));
  try {
    const file = join(dir, 'bundle.json');
    const header = { origin: null, keys: keys.verifierKeys, checkpoint: checkpoint ?? null };
    t = performance.now();
    await pipeline(
      Readable.from(bundleChunks(header, stream(ledger.blocks), stream(ledger.leaves))),
      createWriteStream(file),
    );
    const writeMs = performance.now() - t;
    t = performance.now();
    const bundle = await openBundle(file);
    const fromFile = await verifyChain({ keys, checkpoint, blocks: bundle.blocks, leaves: bundle.leaves });
    const bundleMs = performance.now() - t;
    if (!fromFile.ok) throw new Error(fromFile.message);

    const perSecond = (ms: number) => Math.round((LEAVES * 1000) / ms);
    const rows = [
      ['build ledger (sign + hash)', buildMs],
      ['verify from memory', memoryMs],
      ['write bundle', writeMs],
      ['verify from bundle file', bundleMs],
    ] as const;
    process.stdout.write(`${LEAVES} leaves, ${sizes.length} blocks, bundle ${statSync(file).size} bytes\n`);
    for (const [name, ms] of rows) {
      process.stdout.write(
        `${name.padEnd(28)} ${(ms / 1000).toFixed(2).padStart(7)} s ${String(perSecond(ms)).padStart(9)} leaves/s\n`,
      );
    }
    process.stdout.write(
      `${JSON.stringify({
        leaves: LEAVES,
        blocks: sizes.length,
        verifyMemoryLeavesPerSecond: perSecond(memoryMs),
        verifyBundleLeavesPerSecond: perSecond(bundleMs),
        rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
      })}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();

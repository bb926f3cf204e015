import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  at,
  buildLedger,
  keysOf,
  leafContent,
  producersOf,
  reseal,
  stream,
  type TestLedger,
} from '../test/test-ledger';
import { bundleChunks, openBundle } from './bundle';
import { verifyChain, type ChainReport } from './chain-verifier';
import { poolBundleLeaves } from './leaf-pool';

/**
 * The leaves checked on worker threads (leaf-pool.ts) against the same bundle checked on the main thread: the same
 * verdict, naming the same block and leaf, and the same layout error, whatever the chunking (chunks of a few leaves
 * here, and of less than a line, so that every chunk boundary case is met).
 */
jest.setTimeout(180_000);

const ledger = buildLedger({ blockSizes: [3, 5, 1, 8, 4, 30, 20] });
const producers = producersOf(ledger.producer);
const dir = mkdtempSync(join(tmpdir(), 'verify-pool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function bundleText(of: TestLedger): Promise<string> {
  const header = { origin: null, keys: [], checkpoint: of.checkpoint ?? null };
  let out = '';
  for await (const chunk of bundleChunks(header, stream(of.blocks), stream(of.leaves))) out += chunk;
  return out;
}

type Outcome = ChainReport | { error: string };

async function outcome(run: () => Promise<ChainReport>): Promise<Outcome> {
  try {
    return await run();
  } catch (error) {
    return { error: (error as Error).message };
  }
}

let files = 0;
/** The verdict on `text` from the main thread, and from `workers` workers with chunks of `chunkBytes`. */
async function bothWays(of: TestLedger, text: string, workers = 2, chunkBytes = 2_000) {
  const path = join(dir, `bundle-${files++}.json`);
  writeFileSync(path, text);
  const keys = keysOf(...of.signers);
  const checkpoint = of.checkpoint;
  const sequential = await outcome(async () => {
    const bundle = await openBundle(path);
    return verifyChain({ keys, checkpoint, blocks: bundle.blocks, leaves: bundle.leaves, producers });
  });
  const parallel = await outcome(async () => {
    const bundle = await openBundle(path);
    const leaves = poolBundleLeaves(path, workers, producers.keys, chunkBytes);
    return verifyChain({ keys, checkpoint, blocks: bundle.blocks, leaves, producers });
  });
  return { sequential, parallel };
}

/** The bundle's lines, changed by `change`, joined again. */
function edited(text: string, change: (lines: string[]) => void): string {
  const lines = text.split('\n');
  change(lines);
  return lines.join('\n');
}

const leafLine = (lines: string[], index: number) => lines.findIndex((line) => line.includes(`"index":${index},`));

describe('leaves checked on worker threads', () => {
  it('verifies a sound bundle as the main thread does, with chunks of a few leaves or less than one', async () => {
    const text = await bundleText(ledger);
    for (const [workers, chunkBytes] of [
      [2, 2_000],
      [1, 100],
      [3, 1 << 20],
    ] as const) {
      const { sequential, parallel } = await bothWays(ledger, text, workers, chunkBytes);
      expect(sequential).toMatchObject({ ok: true, leaves: 71 });
      expect(parallel).toEqual(sequential);
    }
  });

  it('names the same block and leaf for a changed leaf, an event not in its batch and a duplicate', async () => {
    const text = await bundleText(ledger);
    const cases: Array<[string, string, string]> = [
      [
        'leafData not canonical',
        edited(text, (lines) => {
          const at = leafLine(lines, 40);
          const record = JSON.parse((lines[at] as string).replace(/,$/, '')) as { leafData: string };
          const spaced = Buffer.from(` ${Buffer.from(record.leafData, 'base64').toString('utf8')}`).toString('base64');
          lines[at] = (lines[at] as string).replace(record.leafData, spaced);
        }),
        'VERIFY.LEAF_NOT_CANONICAL',
      ],
      [
        'a line that is not JSON',
        edited(text, (lines) => {
          lines[leafLine(lines, 33)] = '{"index":33,';
        }),
        'VERIFY.LEAF_INVALID',
      ],
      [
        'event changed and re-sealed by the operator',
        await bundleText(
          reseal(ledger, (c) => (c.index === 50 ? { ...c, event: { ...c.event, data: { serial: 'FORGED' } } } : c)),
        ),
        'VERIFY.ORIGIN_NOT_IN_BATCH',
      ],
      [
        'an event sealed twice',
        await bundleText(
          reseal(ledger, (c) => (c.index === 61 ? { ...leafContent(at(ledger.leaves, 20)), index: 61 } : c)),
        ),
        'VERIFY.DUPLICATE_EVENT',
      ],
    ];
    for (const [what, bundle, code] of cases) {
      const { sequential, parallel } = await bothWays(ledger, bundle);
      expect({ what, sequential }).toMatchObject({ what, sequential: { ok: false, code } });
      expect({ what, parallel }).toEqual({ what, parallel: sequential });
    }
  });

  it('names a missing leaf and a leaf after the last block alike', async () => {
    const text = await bundleText(ledger);
    const missing = edited(text, (lines) => {
      lines.splice(leafLine(lines, 70), 1);
      lines[leafLine(lines, 69)] = (lines[leafLine(lines, 69)] as string).replace(/,$/, '');
    });
    const extra = edited(text, (lines) => {
      const last = leafLine(lines, 70);
      lines.splice(last + 1, 0, `{"index":"seventy-one","eventId":"x","leafData":"AA=="}`);
      lines[last] = `${lines[last] as string},`;
    });
    for (const [bundle, code] of [
      [missing, 'VERIFY.LEAF_MISSING'],
      [extra, 'VERIFY.EXTRA_LEAVES'],
    ] as const) {
      const { sequential, parallel } = await bothWays(ledger, bundle);
      expect(sequential).toMatchObject({ ok: false, code });
      expect(parallel).toEqual(sequential);
    }
  });

  it('reads the same lines: an empty line, a truncated file, carriage returns', async () => {
    const text = await bundleText(ledger);
    const empty = edited(text, (lines) => lines.splice(leafLine(lines, 45), 0, ''));
    const truncated = text.slice(0, text.indexOf('"index":66,') - 2);
    const crlf = text.replace(/\n/g, '\r\n');
    const lone = edited(text, (lines) => {
      lines[leafLine(lines, 12)] = (lines[leafLine(lines, 12)] as string).replace(',"eventId"', '\r,"eventId"');
    });
    const seen: Outcome[] = [];
    for (const bundle of [empty, truncated, crlf, lone]) {
      for (const chunkBytes of [2_000, 100]) {
        const { sequential, parallel } = await bothWays(ledger, bundle, 2, chunkBytes);
        expect(parallel).toEqual(sequential);
        seen.push(sequential);
      }
    }
    const errorOf = (result: Outcome | undefined) => (result && 'error' in result ? result.error : '');
    expect(errorOf(seen[0])).toMatch(/:\d+: empty line in leaves$/);
    expect(errorOf(seen[2])).toMatch(/the leaves list is not closed/);
    expect(seen[4]).toMatchObject({ ok: true });
    expect(seen[6]).toMatchObject({ ok: false, code: 'VERIFY.LEAF_INVALID', leafIndex: 12 });
  });
});

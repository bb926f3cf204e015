import { at, buildLedger, keysOf } from '../test/test-ledger';
import { verifyChain } from './chain-verifier';
import { LedgerProblem, type LedgerClient } from './http';
import { httpChainSource } from './http-source';

/** The ledger API's paging over an in-memory ledger, recording every request. */
function fakeClient(
  ledger: ReturnType<typeof buildLedger>,
  requests: string[],
): Pick<LedgerClient, 'blocks' | 'leaves'> {
  const size = ledger.leaves.length;
  return {
    blocks: async (from, limit) => {
      requests.push(`blocks ${from}+${limit}`);
      const blocks = ledger.blocks.slice(from, from + limit);
      return { blocks, next: blocks.length === limit ? from + limit : null };
    },
    leaves: async (start, end) => {
      requests.push(`leaves ${start}-${end}`);
      if (end > size) throw new LedgerProblem(400, 'LEDGER.OUT_OF_RANGE', 'beyond the tree size');
      return ledger.leaves.slice(start, end);
    },
  };
}

async function collect(items: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('httpChainSource', () => {
  // Blocks end at 3, 8, 9, 17, 21.
  const ledger = buildLedger();

  it('pages through blocks and leaves, never asking for leaves no block fetched so far seals', async () => {
    const requests: string[] = [];
    const streams = httpChainSource(fakeClient(ledger, requests), { batch: 4, size: 21 });
    const report = await verifyChain({ keys: keysOf(...ledger.signers), checkpoint: ledger.checkpoint, ...streams });
    expect(report).toMatchObject({ ok: true, blocks: 5, leaves: 21 });
    expect(requests.filter((r) => r.startsWith('blocks'))).toEqual(['blocks 0+4', 'blocks 4+4']);
    expect(requests.filter((r) => r.startsWith('leaves'))).toEqual([
      'leaves 0-4',
      'leaves 4-8',
      'leaves 8-12',
      'leaves 12-16',
      'leaves 16-17', // the first page of blocks ends at tree size 17
      'leaves 17-21',
    ]);
  });

  it('stops at the pinned size: blocks sealed after the checkpoint are left for the next run', async () => {
    const requests: string[] = [];
    const streams = httpChainSource(fakeClient(ledger, requests), { batch: 100, size: 9 });
    expect((await collect(streams.blocks)).map((block) => (block as { height: number }).height)).toEqual([0, 1, 2]);
    expect(await collect(streams.leaves)).toHaveLength(9);
    const report = await verifyChain({
      keys: keysOf(...ledger.signers),
      checkpoint: at(ledger.blocks, 2).checkpoint,
      ...httpChainSource(fakeClient(ledger, []), { batch: 100, size: 9 }),
    });
    expect(report).toMatchObject({ ok: true, blocks: 3, treeSize: 9 });
  });

  it('ends the leaves where the ledger says the range is out of range, so the short block is named', async () => {
    const requests: string[] = [];
    const client = fakeClient(ledger, requests);
    const forged = { ...at(ledger.blocks, 4), treeSize: 30, leafCount: 13 };
    const streams = httpChainSource(
      { ...client, blocks: async () => ({ blocks: [...ledger.blocks.slice(0, 4), forged], next: null }) },
      { batch: 100, size: 30 },
    );
    expect(await collect(streams.blocks)).toHaveLength(5);
    expect(await collect(streams.leaves)).toHaveLength(0);
    expect(requests).toEqual(['leaves 0-30']);
  });

  // The tamper scenario's finding (docs/reliability.md): a digit of block 3's stored first_leaf_index changed to a
  // value at or beyond the pinned size made the source stop before block 3 as if it were sealed after the
  // checkpoint, so the verifier reported the leaves after block 2 as sealed by no block instead of naming block 3.
  it.each([
    ['at the pinned size', 21],
    ['beyond the pinned size', 917],
    ['below its predecessor', 2],
  ])('hands over a block whose firstLeafIndex is %s, so that the block is named', async (_, firstLeafIndex) => {
    const changed = ledger.blocks.map((block, height) => (height === 3 ? { ...block, firstLeafIndex } : block));
    const client = fakeClient({ ...ledger, blocks: changed }, []);
    const streams = httpChainSource(client, { batch: 2, size: 21 });
    const report = await verifyChain({ keys: keysOf(...ledger.signers), checkpoint: ledger.checkpoint, ...streams });
    expect(report).toMatchObject({ ok: false, height: 3 });
    expect(report.ok || report.message).toMatch(/^block 3: /);
  });

  it('lists nothing for an empty log, whatever the ledger sealed after the checkpoint was read', async () => {
    const streams = httpChainSource(fakeClient(ledger, []), { batch: 100, size: 0 });
    expect(await collect(streams.blocks)).toEqual([]);
    expect(await collect(streams.leaves)).toEqual([]);
  });
});

import { LedgerProblem, type LedgerClient } from './http';

export interface ChainStreams {
  readonly blocks: AsyncIterable<unknown>;
  readonly leaves: AsyncIterable<unknown>;
}

function numberField(value: unknown, name: string): number | undefined {
  const field = (value as Record<string, unknown> | null)?.[name];
  return typeof field === 'number' ? field : undefined;
}

/**
 * Blocks and leaves of a live ledger, pinned to a tree size taken from the checkpoint fetched first: the ledger
 * keeps sealing while we read, and everything after `size` is left for the next run.
 *
 * Blocks come page by page while they start below `size`. Leaves come page by page, with the next page fetched
 * while the current one is verified, never beyond what the blocks handed out so far (or, within `size`, fetched)
 * claim, so a bogus treeSize cannot make us read forever. Nothing is validated here: the verifier does that.
 */
export function httpChainSource(
  client: Pick<LedgerClient, 'blocks' | 'leaves'>,
  { batch, size }: { batch: number; size: number },
): ChainStreams {
  let fetchedMax = 0;
  let yieldedMax = 0;
  const bound = () => Math.max(yieldedMax, Math.min(fetchedMax, size));

  async function* blocks(): AsyncGenerator<unknown> {
    // An empty log at the checkpoint: every block listed was sealed after it.
    if (size === 0) return;
    let from = 0;
    for (;;) {
      const page = await client.blocks(from, batch);
      for (const block of page.blocks) fetchedMax = Math.max(fetchedMax, numberField(block, 'treeSize') ?? 0);
      for (const block of page.blocks) {
        // The end is where a block handed out reaches the pinned size, never a block's own claim to start beyond
        // it: a block whose firstLeafIndex was changed must reach the verifier, which names it (a link broken, a
        // signature failing), rather than end the list there and leave its leaves looking unsealed.
        yieldedMax = Math.max(yieldedMax, numberField(block, 'treeSize') ?? 0);
        yield block;
        if ((numberField(block, 'treeSize') ?? 0) >= size) return;
      }
      if (page.next === null || page.blocks.length === 0) return;
      from = page.next;
    }
  }

  async function* leaves(): AsyncGenerator<unknown> {
    const fetchPage = (start: number): Promise<unknown[]> | undefined => {
      const end = Math.min(start + batch, bound());
      if (end <= start) return undefined;
      const page = client.leaves(start, end).catch((error: unknown) => {
        // A range the ledger says it does not have ends the stream; the verifier names the block left short.
        if (error instanceof LedgerProblem && error.problemCode === 'LEDGER.OUT_OF_RANGE') return [];
        throw error;
      });
      // Awaited later; until then a failure must not count as an unhandled rejection.
      page.catch(() => undefined);
      return page;
    };
    let start = 0;
    let pending = fetchPage(start);
    for (;;) {
      // No prefetch when the bound was reached: by the time the verifier asks for the next leaf it has taken the
      // block that needs it (and its page of blocks), so the bound is computed again now.
      const page = await (pending ?? fetchPage(start));
      if (page === undefined || page.length === 0) return;
      start += page.length;
      pending = fetchPage(start);
      yield* page;
    }
  }

  return { blocks: blocks(), leaves: leaves() };
}

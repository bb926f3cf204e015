import { z } from 'zod';
import type { BlockProofs } from './announcement';

/** Failure to obtain an answer from the ledger (down, timing out, or answering garbage). */
export class LedgerUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerUnavailable';
  }
}

/** How long one ledger request may take before the receipt request fails with 503. */
export const LEDGER_REQUEST_TIMEOUT_MS = 5_000;

/** Event ids per `GET /v1/blocks/{height}/proofs` (the ledger's MAX_PROOF_EVENTS): more are asked in turns. */
export const BLOCK_PROOFS_MAX_EVENTS = 200;

const BlockProofsAnswer = z.object({
  block: z.record(z.string(), z.unknown()),
  proofs: z.array(
    z.object({
      eventId: z.string(),
      index: z.number().int().nonnegative(),
      leafData: z.string(),
      hashes: z.array(z.string()),
    }),
  ),
  absent: z.array(z.string()),
});

export interface LedgerEvent {
  eventId: string;
  index: number;
  blockHeight: number;
  topic: string;
  leafData: string;
}

/** The few reads of the ledger's public HTTP API a receipt needs. Nothing it returns is trusted unverified. */
export class LedgerClient {
  constructor(private readonly baseUrl: string) {}

  async checkpoint(): Promise<string> {
    return (await this.get('/v1/checkpoint')).text();
  }

  async event(eventId: string): Promise<LedgerEvent | undefined> {
    const response = await this.get(`/v1/events/${encodeURIComponent(eventId)}`, [404]);
    return response.status === 404 ? undefined : ((await response.json()) as LedgerEvent);
  }

  async block(height: number): Promise<unknown> {
    return (await this.get(`/v1/blocks/${height}`)).json();
  }

  async inclusionProof(index: number, treeSize: number): Promise<string[]> {
    const body = (await (await this.get(`/v1/proofs/inclusion?index=${index}&treeSize=${treeSize}`)).json()) as {
      hashes?: unknown;
    };
    if (!Array.isArray(body.hashes) || !body.hashes.every((h) => typeof h === 'string'))
      throw new LedgerUnavailable('the ledger answered an inclusion proof without hashes');
    return body.hashes;
  }

  /**
   * The block at `height` with, for each of these events it holds, its leaf and inclusion proof at the block's tree
   * size: one request per BLOCK_PROOFS_MAX_EVENTS ids. Undefined when the ledger has no block at that height.
   */
  async blockProofs(height: number, eventIds: readonly string[]): Promise<BlockProofs | undefined> {
    let merged: BlockProofs | undefined;
    for (let start = 0; start < eventIds.length; start += BLOCK_PROOFS_MAX_EVENTS) {
      const ids = eventIds
        .slice(start, start + BLOCK_PROOFS_MAX_EVENTS)
        .map(encodeURIComponent)
        .join(',');
      const response = await this.get(`/v1/blocks/${height}/proofs?events=${ids}`, [404]);
      const body: unknown = await response.json().catch(() => undefined);
      if (response.status === 404) {
        // Only the ledger's own word that the block does not exist is an answer; any other 404 (a ledger without
        // this endpoint, a proxy) is an outage.
        if ((body as { code?: unknown } | undefined)?.code === 'LEDGER.BLOCK_NOT_FOUND') return undefined;
        throw new LedgerUnavailable(`GET /v1/blocks/${height}/proofs: HTTP 404`);
      }
      const parsed = BlockProofsAnswer.safeParse(body);
      if (!parsed.success) throw new LedgerUnavailable(`the ledger answered proofs of block ${height} malformed`);
      // Each answer is verified on its own merits later; the first block stands for all of them.
      merged = merged
        ? {
            ...merged,
            proofs: [...merged.proofs, ...parsed.data.proofs],
            absent: [...merged.absent, ...parsed.data.absent],
          }
        : parsed.data;
    }
    return merged;
  }

  private async get(path: string, allowed: number[] = []): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), { signal: AbortSignal.timeout(LEDGER_REQUEST_TIMEOUT_MS) });
    } catch (error) {
      throw new LedgerUnavailable(`GET ${path}: ${(error as Error).message}`);
    }
    if (!response.ok && !allowed.includes(response.status))
      throw new LedgerUnavailable(`GET ${path}: HTTP ${response.status} ${await response.text().catch(() => '')}`);
    return response;
  }
}

/** Failure to obtain an answer from the ledger (down, timing out, or answering garbage). */
export class LedgerUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerUnavailable';
  }
}

/** How long one ledger request may take before the receipt request fails with 503. */
export const LEDGER_REQUEST_TIMEOUT_MS = 5_000;

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

import { CliError, CliErrorCode } from './codes';

/** Per request; a page of 1,000 leaves is about 1.5 MB, far below what this allows on any sane link. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Attempts for one GET: network failures and 5xx (but the ledger's own problem+json) are retried, after 250 ms then 1 s. */
const ATTEMPTS = 3;
const BACKOFF_MS = [250, 1_000];
/** The ledger's own page limit (MAX_PAGE in apps/ledger/src/queries/ledger.controller.ts). */
export const MAX_PAGE = 1_000;

export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
}

/** An answer the ledger gave on purpose (problem+json): e.g. 404 for an unknown event, 500 LEDGER.TILES_CORRUPT. */
export class LedgerProblem extends CliError {
  constructor(
    readonly status: number,
    readonly problemCode: string | undefined,
    message: string,
  ) {
    super(CliErrorCode.PROTOCOL, message);
  }
}

/** The `code` of an RFC 9457 problem+json body, if it is one. */
function problemCode(text: string): string | undefined {
  try {
    const code = (JSON.parse(text) as { code?: unknown } | null)?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The ledger's read-only HTTP API (apps/ledger/src/queries/ledger.controller.ts), returning untrusted values.
 * Transport failures become CliError (exit 2): the run could not verify, which is not the same as finding a fault.
 */
export class LedgerClient {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new CliError(CliErrorCode.USAGE, `--url ${JSON.stringify(baseUrl)} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new CliError(CliErrorCode.USAGE, `--url must be http(s), got ${url.protocol}`);
    }
    this.base = url.href.replace(/\/+$/, '');
  }

  get baseUrl(): string {
    return this.base;
  }

  /** The latest signed checkpoint note, or undefined while the log is empty (404 LEDGER.EMPTY). */
  async checkpoint(): Promise<string | undefined> {
    const answer = await this.get('/v1/checkpoint');
    // Only the ledger's own "nothing sealed yet": a 404 for a mistyped base URL must not pass as an empty log.
    if (answer.status === 404 && problemCode(answer.text) === 'LEDGER.EMPTY') return undefined;
    this.expectOk('/v1/checkpoint', answer);
    return answer.text;
  }

  keys(): Promise<unknown> {
    return this.json('/v1/keys');
  }

  async blocks(from: number, limit: number): Promise<{ blocks: unknown[]; next: number | null }> {
    const path = `/v1/blocks?from=${from}&limit=${limit}`;
    const body = (await this.json(path)) as { blocks?: unknown; next?: unknown } | null;
    if (!Array.isArray(body?.blocks) || !(body.next === null || typeof body.next === 'number')) {
      throw new CliError(CliErrorCode.PROTOCOL, `GET ${path}: not { blocks: [...], next }`);
    }
    return { blocks: body.blocks as unknown[], next: body.next };
  }

  /** `GET /v1/blocks/latest`: the newest block with its checkpoint, or undefined while the log is empty. */
  async latestBlock(): Promise<unknown> {
    const path = '/v1/blocks/latest';
    const answer = await this.get(path);
    if (answer.status === 404 && problemCode(answer.text) === 'LEDGER.EMPTY') return undefined;
    this.expectOk(path, answer);
    return this.parse(path, answer.text);
  }

  async leaves(start: number, end: number): Promise<unknown[]> {
    const path = `/v1/leaves?start=${start}&end=${end}`;
    const body = (await this.json(path)) as { leaves?: unknown } | null;
    if (!Array.isArray(body?.leaves)) throw new CliError(CliErrorCode.PROTOCOL, `GET ${path}: not { leaves: [...] }`);
    return body.leaves as unknown[];
  }

  /** `GET /v1/events/{id}`, or undefined when the ledger says it has no such event. */
  async event(eventId: string): Promise<unknown> {
    const path = `/v1/events/${encodeURIComponent(eventId)}`;
    const answer = await this.get(path);
    if (answer.status === 404 && problemCode(answer.text) === 'LEDGER.EVENT_NOT_FOUND') return undefined;
    this.expectOk(path, answer);
    return this.parse(path, answer.text);
  }

  inclusionProof(index: number, treeSize: number): Promise<unknown[]> {
    return this.hashes(`/v1/proofs/inclusion?index=${index}&treeSize=${treeSize}`);
  }

  /** `GET /v1/blocks/{height}/proofs?events=`: the block, and each named event's leaf and inclusion proof. */
  blockProofs(height: number, eventIds: readonly string[]): Promise<unknown> {
    return this.json(`/v1/blocks/${height}/proofs?events=${eventIds.map(encodeURIComponent).join(',')}`);
  }

  consistencyProof(from: number, to: number): Promise<unknown[]> {
    return this.hashes(`/v1/proofs/consistency?from=${from}&to=${to}`);
  }

  private async hashes(path: string): Promise<unknown[]> {
    const body = (await this.json(path)) as { hashes?: unknown } | null;
    if (!Array.isArray(body?.hashes)) throw new CliError(CliErrorCode.PROTOCOL, `GET ${path}: not { hashes: [...] }`);
    return body.hashes as unknown[];
  }

  private async json(path: string): Promise<unknown> {
    const answer = await this.get(path);
    this.expectOk(path, answer);
    return this.parse(path, answer.text);
  }

  private parse(path: string, text: string): unknown {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new CliError(CliErrorCode.PROTOCOL, `GET ${path}: the answer is not JSON`);
    }
  }

  private expectOk(path: string, answer: HttpAnswer): void {
    if (answer.status >= 200 && answer.status < 300) return;
    const code = problemCode(answer.text);
    let detail = answer.text.slice(0, 200);
    try {
      const problem = JSON.parse(answer.text) as { detail?: unknown; title?: unknown };
      const explanation = problem.detail ?? problem.title;
      if (typeof explanation === 'string') detail = explanation;
    } catch {
      // Not problem+json: the raw start of the body is the best explanation there is.
    }
    throw new LedgerProblem(
      answer.status,
      code,
      `GET ${path}: HTTP ${answer.status}${code ? ` ${code}` : ''}: ${detail}`,
    );
  }

  private async get(path: string): Promise<HttpAnswer> {
    const url = this.base + path;
    let lastError = '';
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(BACKOFF_MS[attempt - 1] ?? 1_000);
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
        const text = await response.text();
        // A 5xx problem+json with a code is the ledger's own word (LEDGER.TILES_CORRUPT): asking again changes
        // nothing, and the caller must see the code. Unavailable (503), or a 5xx from something in between, is
        // retried.
        if (response.status >= 500 && (response.status === 503 || problemCode(text) === undefined)) {
          lastError = `HTTP ${response.status}`;
          continue;
        }
        return { status: response.status, text };
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        lastError = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
      }
    }
    throw new CliError(CliErrorCode.NETWORK, `GET ${url}: ${lastError} (after ${ATTEMPTS} attempts)`);
  }
}

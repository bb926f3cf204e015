import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  assembleProof,
  consistencyProofNodes,
  formatAddCheckpoint,
  parseCosignatureLines,
  verifyCosignatures,
  type WitnessVerifier,
} from '@medledger/ledger-core';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '@medledger/platform';
import { LEDGER_CONFIG, type LedgerConfig } from '../ledger.config';
import { LedgerRepository, type StoredBlock } from '../sealing/ledger.repository';
import { TreeState } from '../sealing/tree-state';
import { CosignatureStore } from './cosignatures';

/** How long one add-checkpoint request may take: a witness is a few SQL statements and one signature away. */
export const WITNESS_REQUEST_TIMEOUT_MS = 5_000;
/** Back-off after a witness failed to answer, doubled up to WITNESS_RETRY_MAX_MS while it keeps failing. */
export const WITNESS_RETRY_MIN_MS = 500;
export const WITNESS_RETRY_MAX_MS = 30_000;
/**
 * Requests for one checkpoint: a 409 tells the witness's size, and the next request proves from it. More than one
 * 409 in a row means the witness moved meanwhile (another ledger process with the same key: a fork) or lies.
 */
const ATTEMPTS_PER_CHECKPOINT = 3;

/** What the ledger knows of one witness: the size it last cosigned, and the newest checkpoint waiting for it. */
interface WitnessLane {
  readonly key: WitnessVerifier;
  readonly url: string;
  /** The witness's last cosigned size as far as the ledger knows (0 until it cosigns or answers 409). */
  size: number;
  /** The newest block not yet cosigned by it: only the newest matters, a cosignature vouches for all before it. */
  waiting: StoredBlock | undefined;
  running: Promise<void> | undefined;
  retryMs: number;
  timer: NodeJS.Timeout | undefined;
}

/** What one add-checkpoint request came to. */
type Outcome = 'cosigned' | 'retry-now' | 'give-up' | 'unavailable';

/**
 * Collects witness cosignatures (ADR 0012, C2SP tlog-witness): after each block, outside the sealing path, it
 * offers the block's checkpoint to every witness of LEDGER_WITNESSES with a consistency proof from the size that
 * witness last cosigned, verifies the cosignature it answers against the pinned witness key, and stores it. Bounded:
 * one request in flight per witness, and only the newest checkpoint waits (a newer block replaces an older one not
 * yet sent). A witness that does not answer is retried with back-off; sealing never waits for a witness.
 */
@Injectable()
export class WitnessCollector implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Witnesses');
  private readonly lanes: WitnessLane[];
  private stopped = false;
  /** Ends the requests in flight at shutdown: a witness that hangs must not hold the ledger's stop. */
  private readonly shutdown = new AbortController();
  private readonly answers: Counter<'witness' | 'outcome'>;

  constructor(
    @Inject(LEDGER_CONFIG) config: LedgerConfig,
    private readonly repository: LedgerRepository,
    private readonly tree: TreeState,
    private readonly cosignatures: CosignatureStore,
    metrics: MetricsRegistry,
  ) {
    this.answers = new Counter({
      name: 'ledger_witness_answers_total',
      help: 'add-checkpoint answers by witness and outcome: cosigned, conflict (409), inconsistent (422: a split view, alert), refused, invalid (no valid cosignature), unavailable',
      labelNames: ['witness', 'outcome'],
      registers: [metrics.registry],
    });
    this.lanes = config.LEDGER_WITNESSES.map(({ key, url }) => ({
      key,
      url,
      size: 0,
      waiting: undefined,
      running: undefined,
      retryMs: WITNESS_RETRY_MIN_MS,
      timer: undefined,
    }));
  }

  /** After a restart the newest checkpoint is offered again: it may have been sealed but never cosigned. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.lanes.length === 0) return;
    const head = await this.repository.head();
    if (head) this.offer(head);
  }

  /** Offers a durable block's checkpoint to every witness. Returns at once. */
  offer(block: StoredBlock): void {
    if (this.stopped) return;
    for (const lane of this.lanes) {
      if (!lane.waiting || lane.waiting.treeSize < block.treeSize) lane.waiting = block;
      this.kick(lane);
    }
  }

  /** Settles once no request is in flight and nothing waits that can be sent now (tests). */
  async idle(): Promise<void> {
    for (;;) {
      const running = this.lanes.map((lane) => lane.running).filter((p): p is Promise<void> => p !== undefined);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.shutdown.abort();
    for (const lane of this.lanes) clearTimeout(lane.timer);
    await this.idle();
  }

  private kick(lane: WitnessLane): void {
    if (lane.running || lane.timer || this.stopped || !lane.waiting) return;
    const block = lane.waiting;
    lane.waiting = undefined;
    lane.running = this.submit(lane, block)
      .then((outcome) => {
        if (outcome === 'unavailable') {
          // Keep the newest of it and whatever arrived meanwhile, and try again later.
          if (!lane.waiting || lane.waiting.treeSize < block.treeSize) lane.waiting = block;
          lane.timer = setTimeout(() => {
            lane.timer = undefined;
            this.kick(lane);
          }, lane.retryMs);
          lane.retryMs = Math.min(lane.retryMs * 2, WITNESS_RETRY_MAX_MS);
        } else {
          lane.retryMs = WITNESS_RETRY_MIN_MS;
        }
      })
      .finally(() => {
        lane.running = undefined;
        this.kick(lane);
      });
  }

  private async submit(lane: WitnessLane, block: StoredBlock): Promise<Outcome> {
    for (let attempt = 1; attempt <= ATTEMPTS_PER_CHECKPOINT; attempt += 1) {
      const outcome = await this.request(lane, block);
      if (outcome !== 'retry-now') return outcome;
    }
    this.logger.warn(
      `witness ${lane.key.name} kept answering 409 for tree size ${block.treeSize}; waiting for the next block`,
    );
    return 'give-up';
  }

  private async request(lane: WitnessLane, block: StoredBlock): Promise<Outcome> {
    const witness = lane.key.name;
    if (lane.size > block.treeSize) {
      // The witness cosigned a larger tree than this checkpoint's: nothing to prove from it until the log grows.
      return 'give-up';
    }
    const nodes = lane.size === 0 ? undefined : consistencyProofNodes(lane.size, block.treeSize);
    const proof = nodes ? assembleProof(nodes, await this.tree.nodeHashes(nodes.ids)) : [];
    const body = formatAddCheckpoint({ oldSize: lane.size, proof, checkpoint: block.checkpoint });
    let response: Response;
    let text: string;
    try {
      response = await fetch(lane.url, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain; charset=utf-8' },
        body,
        signal: AbortSignal.any([AbortSignal.timeout(WITNESS_REQUEST_TIMEOUT_MS), this.shutdown.signal]),
      });
      text = await response.text();
    } catch (error) {
      if (this.stopped) return 'give-up';
      this.logger.warn(`witness ${witness} at ${lane.url} did not answer: ${(error as Error).message}`);
      this.answers.inc({ witness, outcome: 'unavailable' });
      return 'unavailable';
    }
    switch (response.status) {
      case 200: {
        const lines = parseCosignatureLines(text);
        const verified = lines.ok ? verifyCosignatures(block.checkpoint + lines.value.join(''), [lane.key]) : lines;
        if (!verified.ok || verified.cosignatures.length === 0) {
          this.logger.error(
            `witness ${witness} answered tree size ${block.treeSize} with no valid cosignature by its pinned key: ${verified.ok ? 'none by that key' : verified.reason}`,
          );
          this.answers.inc({ witness, outcome: 'invalid' });
          return 'unavailable';
        }
        await this.cosignatures.store(block, verified.cosignatures, new Date());
        lane.size = block.treeSize;
        this.answers.inc({ witness, outcome: 'cosigned' });
        return 'cosigned';
      }
      case 409: {
        // SPEC: C2SP tlog-witness: the body is the size of the witness's latest cosigned checkpoint.
        this.answers.inc({ witness, outcome: 'conflict' });
        const size = /^(0|[1-9][0-9]{0,15})\n$/.exec(text);
        if (!size) {
          this.logger.error(`witness ${witness} answered 409 without a size: ${text.slice(0, 200)}`);
          return 'unavailable';
        }
        lane.size = Number(size[1]);
        return lane.size <= block.treeSize ? 'retry-now' : 'give-up';
      }
      case 422:
        this.answers.inc({ witness, outcome: 'inconsistent' });
        // The witness holds a checkpoint of this origin that this log's history does not extend: two histories
        // under the ledger's key. Nothing the ledger can do but say so loudly (an operator must find the fork).
        this.logger.error(
          { alarm: 'split-view', witness, treeSize: block.treeSize, answer: text.slice(0, 500) },
          `witness ${witness} refused the checkpoint of tree size ${block.treeSize} as inconsistent with what it cosigned (HTTP 422): another history was signed with this ledger's key`,
        );
        return 'give-up';
      default:
        this.answers.inc({ witness, outcome: 'refused' });
        this.logger.error(
          `witness ${witness} refused tree size ${block.treeSize}: HTTP ${response.status} ${text.slice(0, 300)}`,
        );
        return response.status >= 500 ? 'unavailable' : 'give-up';
    }
  }
}

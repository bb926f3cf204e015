import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  decideAddCheckpoint,
  openAddCheckpoint,
  parseVerifierKey,
  toBase64,
  WITNESS_INITIAL_STATE,
  WitnessFailure,
  type NoteVerifier,
  type WitnessRefusal,
  type WitnessSigner,
  type WitnessState,
} from '@medledger/ledger-core';
import type { EventStoreConfig } from '../config';
import type { TransactionalSql } from '../sql';
import { EVENT_STORE_CONFIG, EVENT_STORE_SQL } from '../tokens';
import { WitnessMetrics } from './witness.metrics';

export const WITNESS_SIGNER = Symbol('WITNESS_SIGNER');

/**
 * How often a request re-reads the state after losing the compare-and-swap to a concurrent one before it answers
 * 409: a concurrent request that advanced the state makes this one's `old` stale, which is the spec's 409 anyway;
 * the re-read only spares the client a round trip when the other request cosigned the very same checkpoint.
 */
const CAS_ATTEMPTS = 2;

/** An answer of add-checkpoint: HTTP status, content type and body (SPEC: C2SP tlog-witness). */
export interface WitnessAnswer {
  status: number;
  contentType: string;
  body: string;
}

interface StateRow {
  tree_size: string;
  root: Buffer;
}

/** `WITNESS.<what>` for the problem+json answers of this service, from ledger-core's `LEDGER.WITNESS_<what>`. */
export function witnessCode(code: string): string {
  return code.replace(/^LEDGER\.WITNESS_/, 'WITNESS.');
}

/**
 * This service as a witness of the ledger (ADR 0012, C2SP tlog-witness): it cosigns a checkpoint of the pinned
 * ledger (LEDGER_ORIGIN, LEDGER_VERIFIER_KEYS: the keys receipts trust) only with a valid consistency proof from the
 * last checkpoint it cosigned, kept in `es_witness_state` and advanced by a compare-and-swap. A checkpoint that
 * contradicts it is refused (422) and raises the split-view alarm: an error log with both roots and
 * `witness_split_view_total`.
 */
@Injectable()
export class WitnessService {
  private readonly logger = new Logger('Witness');
  private readonly logs: Map<string, NoteVerifier[]>;
  /** The clock cosignatures are timestamped by; replaced in tests. */
  clock: () => Date = () => new Date();

  constructor(
    @Inject(EVENT_STORE_SQL) private readonly sql: TransactionalSql,
    @Inject(EVENT_STORE_CONFIG) config: EventStoreConfig,
    @Inject(WITNESS_SIGNER) readonly signer: WitnessSigner,
    private readonly metrics: WitnessMetrics,
  ) {
    const keys = config.LEDGER_VERIFIER_KEYS.map((vkey) => {
      const parsed = parseVerifierKey(vkey);
      if (!parsed.ok) throw new Error(`LEDGER_VERIFIER_KEYS: invalid key "${vkey}": ${parsed.reason}`);
      return parsed.value;
    });
    // One log: the ledger. Without its key every checkpoint is for an unknown log (404).
    this.logs = new Map(keys.length > 0 ? [[config.LEDGER_ORIGIN, keys]] : []);
  }

  async addCheckpoint(body: string): Promise<WitnessAnswer> {
    const opened = openAddCheckpoint(body, this.logs);
    if (!opened.ok) return this.refusal(opened, 'refused');
    const { origin, size, root } = opened.checkpoint;
    for (let attempt = 1; ; attempt += 1) {
      const stored = await this.state(origin);
      const verdict = decideAddCheckpoint(opened, stored ?? WITNESS_INITIAL_STATE);
      if (!verdict.ok) {
        if (verdict.code === WitnessFailure.INCONSISTENT) {
          this.metrics.splitViews.inc();
          // The alarm: two checkpoints signed by the ledger's key that no append-only log can both have produced.
          this.logger.error(
            {
              alarm: 'split-view',
              origin,
              cosigned: { size: stored?.size ?? 0, root: toBase64((stored ?? WITNESS_INITIAL_STATE).root) },
              presented: { size, root: toBase64(root), checkpoint: opened.request.checkpoint },
            },
            `SPLIT VIEW: the ledger ${origin} signed a checkpoint (size ${size}, root ${toBase64(root)}) that contradicts the one this witness cosigned (size ${stored?.size ?? 0}, root ${toBase64((stored ?? WITNESS_INITIAL_STATE).root)}); refused`,
          );
          return this.refusal(verdict, 'inconsistent');
        }
        return this.refusal(verdict, verdict.status === 409 ? 'conflict' : 'refused');
      }
      const now = this.clock();
      const line = this.signer.cosign(opened.text, Math.floor(now.getTime() / 1000));
      // SPEC: C2SP tlog-witness: "checking the old size against the latest checkpoint and persisting the new
      // checkpoint must be performed atomically": the update applies only if the state is still the one checked.
      const cosigned = opened.request.checkpoint + line;
      const swapped = stored
        ? await this.sql.$executeRawUnsafe(
            `UPDATE es_witness_state SET tree_size = $2, root = $3, checkpoint = $4, updated_at = $5
              WHERE origin = $1 AND tree_size = $6 AND root = $7`,
            origin,
            size,
            Buffer.from(root),
            cosigned,
            now,
            stored.size,
            Buffer.from(stored.root),
          )
        : await this.sql.$executeRawUnsafe(
            `INSERT INTO es_witness_state (origin, tree_size, root, checkpoint, updated_at) VALUES ($1, $2, $3, $4, $5)
              ON CONFLICT (origin) DO NOTHING`,
            origin,
            size,
            Buffer.from(root),
            cosigned,
            now,
          );
      if (swapped === 1) {
        this.metrics.requests.inc({ outcome: 'cosigned' });
        return { status: 200, contentType: 'text/plain; charset=utf-8', body: line };
      }
      if (attempt >= CAS_ATTEMPTS) {
        const current = (await this.state(origin)) ?? WITNESS_INITIAL_STATE;
        this.metrics.requests.inc({ outcome: 'conflict' });
        return sizeAnswer(current.size);
      }
    }
  }

  /** SPEC: C2SP tlog-witness, "Monitor Retrieval Mechanism": the last checkpoint cosigned for the origin hash. */
  async checkpoint(originHash: string): Promise<string | undefined> {
    for (const origin of this.logs.keys()) {
      if (createHash('sha256').update(origin).digest('hex') !== originHash) continue;
      const rows = await this.sql.$queryRawUnsafe<Array<{ checkpoint: string }>>(
        'SELECT checkpoint FROM es_witness_state WHERE origin = $1',
        origin,
      );
      return rows[0]?.checkpoint;
    }
    return undefined;
  }

  private async state(origin: string): Promise<WitnessState | undefined> {
    const rows = await this.sql.$queryRawUnsafe<StateRow[]>(
      'SELECT tree_size::text AS tree_size, root FROM es_witness_state WHERE origin = $1',
      origin,
    );
    const row = rows[0];
    return row ? { size: Number(row.tree_size), root: new Uint8Array(row.root) } : undefined;
  }

  private refusal(refusal: WitnessRefusal, outcome: string): WitnessAnswer {
    this.metrics.requests.inc({ outcome });
    if (refusal.status === 409) return sizeAnswer(refusal.size ?? 0);
    const problem = {
      type: 'about:blank',
      title: 'Checkpoint not cosigned',
      status: refusal.status,
      code: witnessCode(refusal.code),
      detail: refusal.reason,
    };
    return { status: refusal.status, contentType: 'application/problem+json', body: JSON.stringify(problem) };
  }
}

/** SPEC: C2SP tlog-witness: 409 with the last cosigned size in decimal and a newline, as `text/x.tlog.size`. */
function sizeAnswer(size: number): WitnessAnswer {
  return { status: 409, contentType: 'text/x.tlog.size', body: `${size}\n` };
}

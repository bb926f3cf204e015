import { Injectable } from '@nestjs/common';
import { MetricsRegistry } from '@medledger/platform';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { AcceptedEvent } from './sequencer';

@Injectable()
export class LedgerMetrics {
  readonly sealedEvents: Counter;
  readonly blocks: Counter;
  readonly duplicates: Counter;
  readonly deadLettered: Counter<'reason'>;
  readonly sealSeconds: Histogram;
  readonly receivedToSealedSeconds: Histogram;
  readonly treeSize: Gauge;
  readonly tilesCorrupt: Counter;
  readonly proofTileRowsRead: Counter;

  constructor(metrics: MetricsRegistry) {
    const registers = [metrics.registry];
    this.sealedEvents = new Counter({
      name: 'ledger_events_sealed_total',
      help: 'Events appended to the log',
      registers,
    });
    this.blocks = new Counter({ name: 'ledger_blocks_sealed_total', help: 'Blocks sealed', registers });
    this.duplicates = new Counter({
      name: 'ledger_events_duplicate_total',
      help: 'Events whose id was already in the log (not appended again)',
      registers,
    });
    this.deadLettered = new Counter({
      name: 'ledger_events_dead_lettered_total',
      help: 'Events refused at the edge and sent to <topic>.dlq, by reason code',
      labelNames: ['reason'] as const,
      registers,
    });
    this.sealSeconds = new Histogram({
      name: 'ledger_block_seal_seconds',
      help: 'Time to seal one block (dedup, tree, sign, commit)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.receivedToSealedSeconds = new Histogram({
      name: 'ledger_received_to_sealed_seconds',
      help: 'From the ledger receiving an event to its block being durable',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5],
      registers,
    });
    this.treeSize = new Gauge({ name: 'ledger_tree_size', help: 'Leaves in the log', registers });
    this.tilesCorrupt = new Counter({
      name: 'ledger_tiles_corrupt_total',
      help: 'Proof requests refused because a stored tile row failed its check (LEDGER.TILES_CORRUPT): an alarm',
      registers,
    });
    // What a proof costs in PostgreSQL: rows of tiles not held in memory (full tiles are cached once read).
    this.proofTileRowsRead = new Counter({
      name: 'ledger_proof_tile_rows_read_total',
      help: 'Tile rows read from PostgreSQL to serve proofs (those not in the in-memory tile cache)',
      registers,
    });
  }

  recordBlock(leafCount: number, sealSeconds: number, events: readonly AcceptedEvent[]): void {
    this.blocks.inc();
    this.sealedEvents.inc(leafCount);
    this.sealSeconds.observe(sealSeconds);
    const now = Date.now();
    // One observation per block (its oldest event) keeps the hot path cheap.
    const oldest = events[0];
    if (oldest) this.receivedToSealedSeconds.observe((now - oldest.receivedAt.getTime()) / 1000);
  }
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import type { KafkaMessage } from 'kafkajs';
import { leafHash } from '@medledger/ledger-core';
import type { BlockSealedData } from '@medledger/contracts';
import { LEDGER_CONFIG, type LedgerConfig } from '../ledger.config';
import { LedgerRepository, type StoredBlock, type StoredLeaf } from './ledger.repository';
import { LedgerSigner } from './ledger-signer';
import { TreeState } from './tree-state';
import { LedgerMetrics } from './ledger.metrics';
import { compareDuplicate, compareWithLeaf } from './duplicates';

/** An event that passed every check at the edge and waits for its block. */
export interface AcceptedEvent {
  eventId: string;
  topic: string;
  partition: number;
  offset: string;
  receivedAt: Date;
  /** RFC 8785 canonical JSON of the whole received envelope, as UTF-8 bytes. */
  canonicalEvent: Uint8Array;
  /** The message as it arrived: what is dead-lettered if the event turns out to take another's id. */
  message: KafkaMessage;
}

/** An accepted event refused after all: its id belongs to another event that came first (duplicates.ts). */
export interface RefusedEvent {
  event: AcceptedEvent;
  code: string;
  reason: string;
}

/** A block's leaves built ahead, for the first index it was expected to start at. */
interface PreparedLeaves {
  firstIndex: number;
  data: Uint8Array[];
  hashes: Uint8Array[];
}

/**
 * Where sealed positions are acknowledged: Kafka offsets, committed only after the block is durable. `events`: all
 * the events taken for the block; `refused`: those of them that took the id of an event already in the log, to be
 * dead-lettered before any offset moves past them.
 */
export interface SealListener {
  onSealed(
    events: readonly AcceptedEvent[],
    block: StoredBlock | null,
    announcement: BlockSealedData | null,
    refused: readonly RefusedEvent[],
  ): Promise<void>;
}

/**
 * A block's `sealedAt` (docs/design/ledger-format.md §5): the clock's time, but never before the previous block's
 * (the chain rule) nor before any of its leaves' `receivedAt` (the leaf rule). Both rules are checked by every
 * verifier, so a clock stepped back (NTP, a VM restored) must not make the ledger sign a chain that fails them: it
 * holds the time still until the clock catches up instead.
 */
export function sealingTime(now: Date, previous: Date | undefined, receivedAt: readonly Date[]): Date {
  let latest = now.getTime();
  if (previous && previous.getTime() > latest) latest = previous.getTime();
  for (const at of receivedAt) if (at.getTime() > latest) latest = at.getTime();
  return latest === now.getTime() ? now : new Date(latest);
}

/**
 * The single writer of the log. Accepted events wait in arrival order; a block is cut when it reaches the
 * event or byte limit, or when its oldest event reaches the age limit. Sealing assigns the next gap-free
 * indexes, builds the leaves, appends them to the tree, signs the header and checkpoint, and commits it all
 * in one transaction before anyone is told.
 */
@Injectable()
export class Sequencer {
  private readonly logger = new Logger(Sequencer.name);
  private pending: AcceptedEvent[] = [];
  private pendingBytes = 0;
  private readonly pendingById = new Map<string, AcceptedEvent>();
  private oldestAcceptedAt = 0;
  /** Seals run one after another; this is the tail of that chain. */
  private sealing: Promise<void> = Promise.resolve();
  /**
   * Announcements (ledger.BlockSealed, then the Kafka offsets) run one after another in a chain of their own: the
   * next block is sealed while Kafka acknowledges the last one (two round trips that used to hold up the seals).
   */
  private announcing: Promise<void> = Promise.resolve();
  private listener: SealListener | undefined;
  /** The first leaf index of the next block taken, if every block taken so far is sealed whole. */
  private nextFirstIndex: number | undefined;
  /** Leaves built ahead for blocks taken but not yet sealed (null: being sealed, built there). */
  private readonly prepared = new WeakMap<readonly AcceptedEvent[], PreparedLeaves | null>();
  /**
   * Set by the first seal or announcement that fails (fail()): from then on nothing is queued, sealed, announced
   * or committed until the process restarts from durable state. Without it, the seal already queued behind a failed
   * one would take the failed block's height and indexes and move the Kafka offsets past its events.
   */
  private fatal = false;
  /** What to do when a block cannot be sealed (exit, for a restart); replaced in tests. Called once. */
  onFatal: (error: unknown) => void = () => setImmediate(() => process.exit(1));
  /** The clock blocks are sealed by (sealingTime); replaced in tests to step it. */
  clock: () => Date = () => new Date();

  constructor(
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly repository: LedgerRepository,
    private readonly tree: TreeState,
    private readonly signer: LedgerSigner,
    private readonly metrics: LedgerMetrics,
  ) {}

  setListener(listener: SealListener): void {
    this.listener = listener;
  }

  /** Whether a seal or an announcement has failed: the consumer commits no offset and queues nothing after it. */
  get failed(): boolean {
    return this.fatal;
  }

  /** Stops all sealing, announcing and committing for good (crash-only: a restart resumes from durable state). */
  fail(error: unknown): void {
    if (this.fatal) return;
    this.fatal = true;
    this.onFatal(error);
  }

  /** Settles once no seal or announcement is running or queued (events still pending stay pending). */
  async idle(): Promise<void> {
    await this.sealing;
    await this.announcing;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * Sorts events before they are queued by what their ids say: `fresh`, to be queued; redeliveries of an event
   * already waiting for its block (or earlier in `events`), left out in silence; and `refused`, events that take
   * the id of another one waiting (compareDuplicate), which the caller dead-letters before it queues `fresh`.
   * Changes nothing: ids already in the log are found when their block commits (seal).
   */
  screen(events: readonly AcceptedEvent[]): { fresh: AcceptedEvent[]; refused: RefusedEvent[] } {
    const fresh: AcceptedEvent[] = [];
    const refused: RefusedEvent[] = [];
    let seen: Map<string, AcceptedEvent> | undefined;
    for (const event of events) {
      const first = this.pendingById.get(event.eventId) ?? seen?.get(event.eventId);
      if (!first) {
        fresh.push(event);
        (seen ??= new Map()).set(event.eventId, event);
        continue;
      }
      const verdict = compareDuplicate(first.canonicalEvent, event.canonicalEvent);
      if (!verdict.same) refused.push({ event, code: verdict.code, reason: verdict.reason });
    }
    return { fresh, refused };
  }

  /**
   * Queues events, all at once, and returns how many it queued (an event already waiting for its block, delivered
   * again or from another partition, is not queued twice: screen them first); the caller counts exactly those as
   * unsealed.
   */
  enqueue(events: readonly AcceptedEvent[]): number {
    if (this.fatal) return 0;
    let queued = 0;
    for (const event of events) {
      if (this.pendingById.has(event.eventId)) continue;
      if (this.pending.length === 0) this.oldestAcceptedAt = Date.now();
      this.pending.push(event);
      this.pendingById.set(event.eventId, event);
      this.pendingBytes += event.canonicalEvent.length;
      queued += 1;
    }
    return queued;
  }

  /**
   * Back-pressure for the consumer, pipelined: while the pending events fill a block, its seal is queued and this
   * waits for the seal before it only, so the consumer admits the next batch while this block is sealed (at most
   * two blocks in flight; Kafka offsets still move only when a block is durable).
   */
  async sealFullBlocks(): Promise<void> {
    while (
      !this.fatal &&
      (this.pending.length >= this.config.LEDGER_BLOCK_MAX_EVENTS ||
        this.pendingBytes >= this.config.LEDGER_BLOCK_MAX_BYTES)
    ) {
      const before = this.sealing;
      void this.sealNow();
      await before;
    }
  }

  /** Called by a timer: seals the pending block if its oldest event has waited long enough. */
  async sealIfDue(now = Date.now()): Promise<void> {
    if (this.pending.length > 0 && now - this.oldestAcceptedAt >= this.config.LEDGER_BLOCK_MAX_AGE_MS) {
      await this.sealNow();
    }
  }

  /** Seals whatever is pending (up to one block's worth), after any seal already running. */
  sealNow(): Promise<void> {
    if (this.fatal) return this.sealing;
    const batch = this.takeBlock();
    if (batch.length === 0) return this.sealing;
    // Its leaves need only their first index, which is known unless the blocks before it turn out to hold ids the
    // log already has: they are built now, while the block before commits (if that guess fails, seal rebuilds them).
    const firstIndex = this.nextFirstIndex ?? this.tree.size;
    this.nextFirstIndex = firstIndex + batch.length;
    setImmediate(() => {
      if (!this.prepared.has(batch)) this.prepared.set(batch, this.prepareLeaves(firstIndex, batch));
    });
    this.sealing = this.sealing.then(() => {
      // A block queued behind one that failed is never sealed: it would take that block's place.
      if (this.fatal) return undefined;
      return this.seal(batch).catch((error: unknown) => {
        // Crash-only: the tree in memory is unchanged, nothing of this block was acknowledged to Kafka, so a
        // restart re-reads the state from PostgreSQL and the events from the last committed offset.
        this.logger.fatal({ err: error }, 'sealing failed; exiting so that a restart resumes from durable state');
        this.fail(error);
      });
    });
    return this.sealing;
  }

  private takeBlock(): AcceptedEvent[] {
    let bytes = 0;
    let count = 0;
    while (
      count < this.pending.length &&
      count < this.config.LEDGER_BLOCK_MAX_EVENTS &&
      (count === 0 || bytes + (this.pending[count]?.canonicalEvent.length ?? 0) <= this.config.LEDGER_BLOCK_MAX_BYTES)
    ) {
      bytes += this.pending[count]?.canonicalEvent.length ?? 0;
      count += 1;
    }
    const batch = this.pending.splice(0, count);
    for (const event of batch) this.pendingById.delete(event.eventId);
    this.pendingBytes -= bytes;
    this.oldestAcceptedAt = Date.now();
    return batch;
  }

  /** Tells the listener, in block order, after the block is durable; a failure is fatal like a failed seal. */
  private announce(
    batch: readonly AcceptedEvent[],
    block: StoredBlock | null,
    data: BlockSealedData | null,
    refused: readonly RefusedEvent[] = [],
  ): void {
    this.announcing = this.announcing.then(() => {
      // After a failure nothing is committed, not even the offsets of a block sealed before it: the restart reads
      // its events again and skips them as known.
      if (this.fatal) return undefined;
      return this.listener?.onSealed(batch, block, data, refused).catch((error: unknown) => {
        // Crash-only, as for sealing: the block is durable; its offsets are not committed, so a restart re-reads
        // its events and skips them as known (the first index stands), announcing nothing twice in the log.
        this.logger.fatal({ err: error }, 'announcing a sealed block failed; exiting');
        this.fail(error);
      });
    });
  }

  /** The leaves of a block that starts at `firstIndex`: their data (one buffer, TreeState.leavesData) and hashes. */
  private prepareLeaves(firstIndex: number, events: readonly AcceptedEvent[]): PreparedLeaves {
    const data = this.tree.leavesData(firstIndex, events);
    return { firstIndex, data, hashes: data.map(leafHash) };
  }

  private async seal(batch: readonly AcceptedEvent[]): Promise<void> {
    const started = process.hrtime.bigint();
    // Optimistic: a redelivered event id is rare, so the block is committed without asking first; the commit
    // refuses the whole block (nothing written) when an id is already in the log, and only then are the known
    // ones looked up and left out (the first index stands): in silence when they are the event the log holds (a
    // redelivery), as refused (dead-lettered) when they are another event under its id.
    let fresh: readonly AcceptedEvent[] = batch;
    const refused: RefusedEvent[] = [];
    const prepared = this.prepared.get(batch);
    // From here on the leaves are built here if they are not yet (an idle ledger seals before setImmediate runs).
    this.prepared.set(batch, null);
    let sealed = await this.trySeal(fresh, prepared);
    if (!sealed) {
      const known = await this.repository.knownEvents(batch.map((event) => event.eventId));
      const unknown: AcceptedEvent[] = [];
      for (const event of batch) {
        const leaf = known.get(event.eventId);
        if (!leaf) {
          unknown.push(event);
          continue;
        }
        const verdict = compareWithLeaf(leaf, event.canonicalEvent);
        if (verdict.same) this.metrics.duplicates.inc();
        else refused.push({ event, code: verdict.code, reason: verdict.reason });
      }
      fresh = unknown;
      // The blocks after this one were prepared from one index too far per known id.
      if (this.nextFirstIndex !== undefined) this.nextFirstIndex -= known.size;
      if (fresh.length === 0) {
        this.announce(batch, null, null, refused);
        return;
      }
      sealed = await this.trySeal(fresh);
      // The single writer just read the log: a second refusal means another writer, which must not go on.
      if (!sealed) throw new Error('the log gained event ids of this block while it was sealed (a second writer?)');
    }
    const { block, leaves } = sealed;

    const announcement: BlockSealedData = {
      height: block.height,
      treeSize: block.treeSize,
      root: Buffer.from(block.root).toString('base64'),
      blockHash: Buffer.from(block.hash).toString('base64'),
      checkpoint: block.checkpoint,
      events: leaves.map((leaf) => ({ eventId: leaf.eventId, index: leaf.index })),
    };
    this.announce(batch, block, announcement, refused);
    this.metrics.recordBlock(leaves.length, Number(process.hrtime.bigint() - started) / 1e9, fresh);
    this.logger.debug({ height: block.height, leaves: leaves.length, treeSize: block.treeSize }, 'block sealed');
  }

  /**
   * Builds, signs and commits the next block of these events and advances the tree; null, with nothing written
   * and the tree unchanged, when the log already holds one of their event ids. `prepared`: leaves built ahead for
   * exactly these events, used if they start at the index the tree is at.
   */
  private async trySeal(
    events: readonly AcceptedEvent[],
    prepared?: PreparedLeaves | null,
  ): Promise<{ block: StoredBlock; leaves: StoredLeaf[] } | null> {
    const height = this.tree.nextHeight;
    const firstLeafIndex = this.tree.size;
    const ready =
      prepared && prepared.firstIndex === firstLeafIndex ? prepared : this.prepareLeaves(firstLeafIndex, events);
    const data = ready.data;
    const leaves: StoredLeaf[] = events.map((event, offset) => ({
      index: firstLeafIndex + offset,
      eventId: event.eventId,
      topic: event.topic,
      receivedAt: event.receivedAt,
      data: data[offset] as Uint8Array,
      blockHeight: height,
    }));
    const appended = this.tree.prepareAppend(ready.hashes);
    const block = this.signer.sealBlock({
      height,
      previousHash: this.tree.headHash,
      firstLeafIndex,
      leafCount: leaves.length,
      treeSize: appended.treeSize,
      root: appended.root,
      sealedAt: sealingTime(
        this.clock(),
        this.tree.headSealedAt,
        events.map((event) => event.receivedAt),
      ),
    });
    if (!(await this.repository.commitBlock(block, leaves, appended.upserts))) return null;
    this.tree.commitAppend(appended, block);
    return { block, leaves };
  }
}

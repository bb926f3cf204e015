import { ConsoleLogger, Logger } from '@nestjs/common';
import type { KafkaMessage } from 'kafkajs';
import type { LedgerConfig } from '../ledger.config';
import type { LedgerRepository, StoredBlock, StoredLeaf } from './ledger.repository';
import type { LedgerSigner } from './ledger-signer';
import type { LedgerMetrics } from './ledger.metrics';
import { sealingTime, Sequencer, type AcceptedEvent } from './sequencer';
import { TreeState } from './tree-state';

/** The queue in front of the seals (no seal runs here: the limits are never reached). */
describe('Sequencer.enqueue', () => {
  const config = { LEDGER_BLOCK_MAX_EVENTS: 1_000, LEDGER_BLOCK_MAX_BYTES: 1 << 20 } as LedgerConfig;
  const sequencer = () =>
    new Sequencer(config, {} as LedgerRepository, {} as TreeState, {} as LedgerSigner, {} as LedgerMetrics);
  const event = (eventId: string, partition = 0): AcceptedEvent => ({
    eventId,
    topic: 't',
    partition,
    offset: '0',
    receivedAt: new Date(0),
    canonicalEvent: Buffer.from(`{"id":"${eventId}"}`),
    message: {} as KafkaMessage,
  });

  it('queues each event id once and says how many it queued, so the consumer counts exactly those', async () => {
    const queue = sequencer();
    expect(queue.enqueue([event('a'), event('b')])).toBe(2);
    // The same event again (a batch delivered again, or the same id on another partition): not queued twice.
    expect(queue.enqueue([event('b', 1), event('c', 1)])).toBe(1);
    expect(queue.pendingCount).toBe(3);
    await expect(queue.sealFullBlocks()).resolves.toBeUndefined();
    expect(queue.pendingCount).toBe(3);
  });
});

describe('sealingTime', () => {
  const at = (ms: number) => new Date(Date.parse('2026-11-23T12:00:00.000Z') + ms);

  it.each([
    ['the clock, when it is ahead of everything', 5_000, 1_000, [2_000, 3_000], 5_000],
    ['the first block: the clock', 5_000, undefined, [4_000], 5_000],
    ['the previous block, when the clock stepped back before it', 1_000, 9_000, [500], 9_000],
    ['the latest receivedAt, when the clock stepped back after admission', 1_000, 500, [800, 7_000, 2_000], 7_000],
    ['the clock, when it equals the previous block', 3_000, 3_000, [3_000], 3_000],
  ])('is %s', (_, now, previous, received, expected) => {
    const sealedAt = sealingTime(
      at(now),
      previous === undefined ? undefined : at(previous),
      received.map((ms) => at(ms)),
    );
    expect(sealedAt.toISOString()).toBe(at(expected).toISOString());
  });
});

/**
 * Sealing against an in-memory stand-in for PostgreSQL (the real statement is tested on PostgreSQL in
 * test/*.int-spec.ts): what is committed, in which order, and what the listener is told.
 */
describe('Sequencer sealing', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  afterAll(() => {
    Logger.overrideLogger(new ConsoleLogger());
  });
  const config = { LEDGER_BLOCK_MAX_EVENTS: 2, LEDGER_BLOCK_MAX_BYTES: 1 << 20 } as LedgerConfig;
  const event = (eventId: string, offset: number, content = ''): AcceptedEvent => {
    const canonicalEvent = Buffer.from(`{"data":"${content}","id":"${eventId}","source":"/medledger/supply"}`);
    return {
      eventId,
      topic: 't',
      partition: 0,
      offset: String(offset),
      receivedAt: new Date(0),
      canonicalEvent,
      message: { value: canonicalEvent, offset: String(offset) } as KafkaMessage,
    };
  };

  function harness() {
    const committed: StoredBlock[] = [];
    const log = new Map<string, StoredLeaf>();
    const commitBlock = jest.fn(async (block: StoredBlock, leaves: readonly StoredLeaf[]) => {
      if (leaves.some((leaf) => log.has(leaf.eventId))) return false;
      for (const leaf of leaves) log.set(leaf.eventId, leaf);
      committed.push(block);
      return true;
    });
    const repository = {
      commitBlock,
      knownEvents: async (ids: readonly string[]) =>
        new Map(ids.flatMap((id) => (log.has(id) ? [[id, log.get(id)!.data] as const] : []))),
    } as unknown as LedgerRepository;
    const signer = {
      sealBlock: (fields: Omit<StoredBlock, 'keyId' | 'signature' | 'hash' | 'checkpoint'>): StoredBlock => ({
        ...fields,
        keyId: 'k',
        signature: new Uint8Array(64),
        hash: Uint8Array.of(fields.height),
        checkpoint: `checkpoint ${fields.treeSize}`,
      }),
    } as unknown as LedgerSigner;
    const metrics = { recordBlock: () => undefined, duplicates: { inc: () => undefined } } as unknown as LedgerMetrics;
    const sequencer = new Sequencer(config, repository, new TreeState(repository), signer, metrics);
    const sealed: Array<{ height: number | undefined; events: string[]; refused?: string[] }> = [];
    sequencer.setListener({
      onSealed: async (events, block, _announcement, refused) => {
        sealed.push({
          height: block?.height,
          events: events.map((e) => e.eventId),
          ...(refused.length > 0 ? { refused: refused.map((r) => `${r.event.offset} ${r.code}`) } : {}),
        });
      },
    });
    const fatal = jest.fn();
    sequencer.onFatal = fatal;
    return { sequencer, commitBlock, committed, sealed, fatal, log };
  }

  it('screens out a redelivery in silence and refuses another event under an id already waiting', () => {
    const { sequencer } = harness();
    expect(sequencer.enqueue([event('a', 0, 'x')])).toBe(1);
    const { fresh, refused } = sequencer.screen([
      event('a', 1, 'x'), // the waiting event again
      event('b', 2, 'y'),
      event('a', 3, 'z'), // another event under a waiting id
      event('b', 4, 'w'), // another event under an id earlier in the same batch
      event('b', 5, 'y'), // the batch's own event again
    ]);
    expect(fresh.map((e) => e.offset)).toEqual(['2']);
    expect(refused.map((r) => [r.event.offset, r.code])).toEqual([
      ['3', 'LEDGER.DUPLICATE_ID_OTHER_CONTENT'],
      ['4', 'LEDGER.DUPLICATE_ID_OTHER_CONTENT'],
    ]);
    expect(sequencer.pendingCount).toBe(1);
  });

  it('leaves a redelivery of a sealed event out in silence, and refuses another event under its id', async () => {
    const { sequencer, committed, sealed, log } = harness();
    sequencer.enqueue([event('a', 0, 'x'), event('b', 1, 'y')]);
    await sequencer.sealFullBlocks();
    await sequencer.idle();
    // Both ids are in the log now: one comes again as it was, one as another event; c is new.
    sequencer.enqueue([event('a', 2, 'x'), event('b', 3, 'changed')]);
    await sequencer.sealFullBlocks();
    sequencer.enqueue([event('c', 4, 'z')]);
    await sequencer.sealNow();
    await sequencer.idle();
    expect(committed.map((b) => b.leafCount)).toEqual([2, 1]);
    expect(sealed).toEqual([
      { height: 0, events: ['a', 'b'] },
      { height: undefined, events: ['a', 'b'], refused: ['3 LEDGER.DUPLICATE_ID_OTHER_CONTENT'] },
      { height: 1, events: ['c'] },
    ]);
    // The first event under b's id stands.
    expect(Buffer.from(log.get('b')!.data).toString()).toContain('"data":"y"');
  });

  it('seals full blocks in order and tells the listener after each commit', async () => {
    const { sequencer, committed, sealed } = harness();
    sequencer.enqueue([event('a', 0), event('b', 1), event('c', 2), event('d', 3)]);
    await sequencer.sealFullBlocks();
    await sequencer.idle();
    expect(committed.map((b) => [b.height, b.firstLeafIndex, b.treeSize])).toEqual([
      [0, 0, 2],
      [1, 2, 4],
    ]);
    expect(sealed).toEqual([
      { height: 0, events: ['a', 'b'] },
      { height: 1, events: ['c', 'd'] },
    ]);
  });

  it('after a failed seal, seals, announces and queues nothing more (the next block must not take its place)', async () => {
    const { sequencer, commitBlock, committed, sealed, fatal } = harness();
    commitBlock.mockRejectedValueOnce(new Error('connection reset'));
    // Two blocks queued one behind the other, then more events once the first has failed.
    sequencer.enqueue([event('a', 0), event('b', 1), event('c', 2), event('d', 3)]);
    await sequencer.sealFullBlocks();
    await sequencer.idle();
    expect(fatal).toHaveBeenCalledTimes(1);
    expect(sequencer.failed).toBe(true);
    expect(sequencer.enqueue([event('e', 4), event('f', 5)])).toBe(0);
    await sequencer.sealFullBlocks();
    await sequencer.sealNow();
    await sequencer.idle();
    expect(commitBlock).toHaveBeenCalledTimes(1);
    expect(committed).toEqual([]);
    expect(sealed).toEqual([]);
  });
});

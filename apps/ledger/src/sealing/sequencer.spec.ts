import type { LedgerConfig } from '../ledger.config';
import type { LedgerRepository } from './ledger.repository';
import type { LedgerSigner } from './ledger-signer';
import type { LedgerMetrics } from './ledger.metrics';
import { sealingTime, Sequencer, type AcceptedEvent } from './sequencer';
import type { TreeState } from './tree-state';

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

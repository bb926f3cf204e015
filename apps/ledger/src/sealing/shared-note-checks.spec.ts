import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { SHARED_NOTE_SLOTS, SharedNoteDigests } from './shared-note-checks';

describe('SharedNoteDigests', () => {
  it('answers yes only for digests added, through any view of its buffer', () => {
    const one = new SharedNoteDigests();
    const other = new SharedNoteDigests(one.buffer);
    const [a, b] = [randomBytes(32), randomBytes(32)];
    expect(other.has(a)).toBe(false);
    one.add(a);
    expect([other.has(a), other.has(b), one.has(a)]).toEqual([true, false, true]);
    expect(() => one.add(randomBytes(31))).toThrow('32 bytes');
  });

  it('forgets the oldest digests first once full', () => {
    const digests = new SharedNoteDigests();
    const first = randomBytes(32);
    digests.add(first);
    const rest = Array.from({ length: SHARED_NOTE_SLOTS - 1 }, () => randomBytes(32));
    for (const digest of rest) digests.add(digest);
    expect(digests.has(first)).toBe(true);
    digests.add(randomBytes(32));
    expect([digests.has(first), digests.has(rest[0] as Buffer)]).toEqual([false, true]);
  });

  it('sees what another thread adds', async () => {
    const digests = new SharedNoteDigests();
    const digest = randomBytes(32);
    // The other thread writes the slot as add() does (plain JavaScript: jest runs the sources).
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const words = new Int32Array(workerData.buffer);
       const wanted = new Int32Array(Uint8Array.from(workerData.digest).buffer);
       const base = 1 + (Atomics.add(words, 0, 1) % ${SHARED_NOTE_SLOTS}) * 9;
       Atomics.add(words, base, 1);
       for (let i = 0; i < 8; i++) Atomics.store(words, base + 1 + i, wanted[i]);
       Atomics.add(words, base, 1);
       parentPort.postMessage('done');`,
      { eval: true, workerData: { buffer: digests.buffer, digest } },
    );
    await new Promise((resolve) => worker.once('message', resolve));
    await worker.terminate();
    expect(digests.has(digest)).toBe(true);
  });
});

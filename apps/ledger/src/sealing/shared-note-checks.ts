import type { SharedNoteChecks } from '@medledger/ledger-core';

/** Digests remembered: far more than the producer batches being admitted at any moment. */
export const SHARED_NOTE_SLOTS = 1_024;

/** Int32 words per slot: a sequence number (odd while the slot is being written), then the 32-byte digest. */
const SLOT_WORDS = 9;

/**
 * The batch notes whose signatures the admission workers have verified, in one SharedArrayBuffer that every
 * worker (and a replacement for one that died) maps: each note's Ed25519 signature is verified by one worker
 * instead of by each. A ring of SHARED_NOTE_SLOTS digests, the oldest overwritten first; a slot is read under its
 * sequence number (a seqlock), so a digest being written is never matched half old, half new. Only a digest that a
 * worker added after verifying can match (they are SHA-256 outputs: no torn mix of two equals a third).
 */
export class SharedNoteDigests implements SharedNoteChecks {
  private readonly words: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = SharedNoteDigests.allocate()) {
    this.words = new Int32Array(buffer);
  }

  static allocate(): SharedArrayBuffer {
    return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * (1 + SHARED_NOTE_SLOTS * SLOT_WORDS));
  }

  add(digest: Uint8Array): void {
    const wanted = digestWords(digest);
    const base = 1 + (Atomics.add(this.words, 0, 1) % SHARED_NOTE_SLOTS) * SLOT_WORDS;
    Atomics.add(this.words, base, 1); // odd: being written
    for (let i = 0; i < 8; i++) Atomics.store(this.words, base + 1 + i, wanted[i] as number);
    Atomics.add(this.words, base, 1); // even: whole
  }

  has(digest: Uint8Array): boolean {
    const wanted = digestWords(digest);
    for (let slot = 0; slot < SHARED_NOTE_SLOTS; slot++) {
      const base = 1 + slot * SLOT_WORDS;
      if (Atomics.load(this.words, base + 1) !== wanted[0]) continue;
      const before = Atomics.load(this.words, base);
      if (before % 2 === 1) continue;
      let same = true;
      for (let i = 0; i < 8 && same; i++) same = Atomics.load(this.words, base + 1 + i) === wanted[i];
      if (same && Atomics.load(this.words, base) === before) return true;
    }
    return false;
  }
}

function digestWords(digest: Uint8Array): Int32Array {
  if (digest.length !== 32) throw new Error(`a note digest has 32 bytes, not ${digest.length}`);
  return new Int32Array(Uint8Array.from(digest).buffer);
}

import { canonicalize } from './jcs';
import { generateEd25519KeyPair } from './keys';
import { verifierKey } from './note';
import { batchOrigin, encodeSignedEvent, OriginSigner, OriginVerifier } from './origin';

const keys = generateEd25519KeyPair();
const signer = new OriginSigner('supply', keys.seed);
const verifier = () => new OriginVerifier([verifierKey('supply', keys.publicKey)]);

const base = {
  specversion: '1.0',
  source: '/medledger/supply',
  type: 'supply.PackShipped',
  time: '2026-11-29T10:00:00.000Z',
  datacontenttype: 'application/json',
};

/** Envelopes whose members fall in every place around the proof attributes, ASCII and not, escapes and numbers. */
const SHAPES: Array<Record<string, unknown>> = [
  { ...base, id: 'ascii', aggregateid: 'pack-1', aggregateversion: 2, data: { serial: 'S1', qty: 1.5 } },
  { ...base, id: 'utf8', subject: 'café', data: { note: 'caf\u00e9 \ud83d\ude00 \u2028', list: ['é', 1, null] } },
  { ...base, id: 'escapes', data: { text: 'tab\there "quoted" back\\slash \u0001' }, zzext: 'line\nbreak' },
  { ...base, id: 'between', batchmeta: { batchindex: 7, nested: ['"batchproof":[]'] }, aa: [{ b: 1 }], data: {} },
  { ...base, id: 'after', producerkeys: 'not the key', q: { r: [1, 2, { s: 't' }] }, data: { x: true } },
  { ...base, id: '\u00e9\u00e9', data: { deep: [[[[{ a: -1e-7, b: 1e21 }]]]] } },
];

describe('OriginVerifier.verifyCanonical with the bytes received', () => {
  const signed = signer.signBatch(SHAPES);

  it('takes an event published canonically as received, and cuts its signed part out of the bytes', () => {
    for (const event of signed) {
      const text = encodeSignedEvent(event);
      const bytes = Buffer.from(text, 'utf8');
      const verdict = verifier().verifyCanonical(JSON.parse(text) as Record<string, unknown>, 'supply', {
        text,
        bytes,
      });
      expect(verdict).toMatchObject({ ok: true, producer: 'supply' });
      expect(verdict.ok && verdict.canonical).toBe(bytes); // the very bytes, not a copy
    }
  });

  it('takes the same events as received when their bytes are read as Latin-1', () => {
    for (const event of signed) {
      const bytes = Buffer.from(encodeSignedEvent(event), 'utf8');
      const text = bytes.toString('latin1');
      const verdict = verifier().verifyCanonical(JSON.parse(text) as Record<string, unknown>, 'supply', {
        text,
        bytes,
        latin1: true,
      });
      expect(verdict.ok && verdict.canonical).toBe(bytes);
    }
  });

  it('canonicalises an event published otherwise, as without the bytes', () => {
    for (const event of signed) {
      const text = JSON.stringify(event);
      const bytes = Buffer.from(text, 'utf8');
      const verdict = verifier().verifyCanonical(JSON.parse(text) as Record<string, unknown>, 'supply', {
        text,
        bytes,
      });
      expect(verdict.ok && Buffer.from(verdict.canonical).toString('utf8')).toBe(canonicalize(event));
      expect(verdict.ok && verdict.canonical).not.toBe(bytes);
    }
  });

  it('does not take bytes that are not valid UTF-8 as received, though their decoded text is canonical', () => {
    const [event] = signer.signBatch([{ ...SHAPES[0], data: { note: 'a \ufffd b' } }]);
    const text = encodeSignedEvent(event as object);
    const valid = Buffer.from(text, 'utf8');
    const at = valid.indexOf(Buffer.from('\ufffd', 'utf8'));
    // The same text to a decoder: one invalid byte where U+FFFD was.
    const bytes = Buffer.concat([valid.subarray(0, at), Buffer.from([0xff]), valid.subarray(at + 3)]);
    expect(bytes.toString('utf8')).toBe(text);
    const verdict = verifier().verifyCanonical(JSON.parse(text) as Record<string, unknown>, 'supply', { text, bytes });
    expect(verdict.ok && Buffer.from(verdict.canonical)).toEqual(valid);
  });

  it('gives the verdict and canonical form it gives without them, for every one-character change that parses', () => {
    // One verifier each, kept: notes and proven nodes are cached as in the ledger.
    const [fast, slow] = [verifier(), verifier()];
    let changed = 0;
    let accepted = 0;
    for (const event of signed) {
      const text = encodeSignedEvent(event);
      for (let at = 0; at < text.length; at++) {
        // Replaced by one of these, or a space inserted (the same value, not canonical).
        for (const [replacement, skip] of [
          ['a', 1],
          ['"', 1],
          ['\\', 1],
          [' ', 0],
        ] as const) {
          const mutated = text.slice(0, at) + replacement + text.slice(at + skip);
          if (mutated === text) continue;
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(mutated) as Record<string, unknown>;
          } catch {
            continue;
          }
          if (typeof parsed !== 'object' || parsed === null) continue;
          const received = { text: mutated, bytes: Buffer.from(mutated, 'utf8') };
          const withBytes = fast.verifyCanonical(parsed, 'supply', received);
          const without = slow.verifyCanonical(parsed, 'supply');
          // Read as Latin-1, only acceptance counts, and it must be the same acceptance.
          const latin1 = received.bytes.toString('latin1');
          const asLatin1 = fast.verifyCanonical(JSON.parse(latin1) as Record<string, unknown>, 'supply', {
            text: latin1,
            bytes: received.bytes,
            latin1: true,
          });
          if (asLatin1.ok) expect(without.ok && asLatin1.canonical === received.bytes).toBe(true);
          expect(withBytes.ok).toBe(without.ok);
          if (withBytes.ok && without.ok)
            expect(Buffer.from(withBytes.canonical)).toEqual(Buffer.from(without.canonical));
          else expect(withBytes).toEqual(without);
          changed += 1;
          if (without.ok) accepted += 1;
        }
      }
    }
    expect(changed).toBeGreaterThan(1000);
    expect(accepted).toBeGreaterThan(100); // spaces between tokens
  });
});

describe('OriginVerifier with notes checked by other verifiers', () => {
  /** A SharedNoteChecks in one thread's memory, counting what it is asked. */
  class Checks {
    readonly digests = new Set<string>();
    adds = 0;
    hits = 0;
    has(digest: Uint8Array): boolean {
      const hit = this.digests.has(Buffer.from(digest).toString('hex'));
      if (hit) this.hits += 1;
      return hit;
    }
    add(digest: Uint8Array): void {
      this.adds += 1;
      this.digests.add(Buffer.from(digest).toString('hex'));
    }
  }
  const keyring = [verifierKey('supply', keys.publicKey)];
  const signedBatch = signer.signBatch(SHAPES.slice(0, 2));

  it('verifies each note once between them: the second verifier takes the first one word for it', () => {
    const checks = new Checks();
    const [first, second] = [new OriginVerifier(keyring, checks), new OriginVerifier(keyring, checks)];
    for (const event of signedBatch) expect(first.verify(event, 'supply')).toEqual({ ok: true, producer: 'supply' });
    expect([checks.adds, checks.hits]).toEqual([1, 0]);
    for (const event of signedBatch) expect(second.verify(event, 'supply')).toEqual({ ok: true, producer: 'supply' });
    expect([checks.adds, checks.hits]).toEqual([1, 1]);
  });

  it('still checks what the others have not vouched for: a forged note, an event changed, another key', () => {
    const checks = new Checks();
    const first = new OriginVerifier(keyring, checks);
    const [event] = signedBatch;
    expect(first.verify(event as object as Record<string, unknown>, 'supply').ok).toBe(true);
    const forged = { ...event, batchnote: (event?.batchnote as string).replace(/ \S+\n$/, ' AAAAAAAA\n') };
    expect(new OriginVerifier(keyring, checks).verify(forged, 'supply')).toMatchObject({
      code: 'LEDGER.ORIGIN_BAD_NOTE',
    });
    const changed = { ...event, subject: 'changed' };
    expect(new OriginVerifier(keyring, checks).verify(changed, 'supply')).toMatchObject({
      code: 'LEDGER.ORIGIN_NOT_IN_BATCH',
    });
    // Another key of the same name (so another key id) is not vouched for by the first one's checks.
    const other = generateEd25519KeyPair();
    const impostor = new OriginVerifier([verifierKey('supply', other.publicKey)], checks);
    expect(impostor.verify(event as object as Record<string, unknown>, 'supply').ok).toBe(false);
    expect(checks.hits).toBe(1); // the changed event's note only: its proof failed
  });
});

describe('OriginVerifier and the origin of the batch note', () => {
  const keyring = [verifierKey('supply', keys.publicKey)];

  it.each([
    ['another service', 'medledger.local/records/events'],
    ['another log of the same service', 'medledger.local/supply/audit'],
    ['a look-alike', 'medledger.local/supply/events/'],
  ])('refuses a note validly signed by the producer for %s', (_, origin) => {
    const [event] = new OriginSigner('supply', keys.seed, origin).signBatch([SHAPES[0] as object]);
    expect(new OriginVerifier(keyring).verify(event as Record<string, unknown>, 'supply')).toEqual({
      ok: false,
      code: 'LEDGER.ORIGIN_WRONG_BATCH_ORIGIN',
      reason: `the batch note is for ${JSON.stringify(origin)}, not "medledger.local/supply/events"`,
    });
  });

  it('takes its own batches, whose origin is batchOrigin(service)', () => {
    expect(batchOrigin('supply')).toBe('medledger.local/supply/events');
    const [event] = signer.signBatch([SHAPES[0] as object]);
    expect(new OriginVerifier(keyring).verify(event as Record<string, unknown>, 'supply')).toEqual({
      ok: true,
      producer: 'supply',
    });
  });
});

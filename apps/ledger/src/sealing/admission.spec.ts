import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  canonicalize,
  encodeSignedEvent,
  generateEd25519KeyPair,
  LEAF_EVENT_MAX_DEPTH,
  OriginSigner,
  OriginVerifier,
  verifierKey,
} from '@medledger/ledger-core';
import { AdmissionFailure, admitBytes, admitPacked, checkTopic, packValues, type Verdict } from './admission';
import { AdmissionPool } from './admission-pool';

const keys = generateEd25519KeyPair();
const supply = new OriginSigner('supply', keys.seed);
const origin = () => new OriginVerifier([verifierKey('supply', keys.publicKey)]);
const MAX = 64 * 1024;

function signedEvents(count: number) {
  // The ledger checks the envelope, not the event's own schema (that is the producer's contract).
  return supply.signBatch(
    Array.from({ length: count }, (_, n) => ({
      specversion: '1.0',
      id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      source: '/medledger/supply',
      type: 'supply.PackCommissioned',
      time: '2026-11-29T10:00:00.000Z',
      datacontenttype: 'application/json',
      data: { serial: `S${n}`, note: 'caf\u00e9 \ud83d\ude00' },
    })),
  );
}

const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

describe('admitBytes', () => {
  it.each([
    ['no value', null, AdmissionFailure.EMPTY],
    ['an empty value', bytes(''), AdmissionFailure.EMPTY],
    ['more bytes than the limit', Buffer.alloc(MAX + 1, 0x20), AdmissionFailure.TOO_LARGE],
    ['bytes that are not JSON', bytes('{"id":'), AdmissionFailure.NOT_JSON],
    ['JSON that is not an envelope', bytes({ hello: 'world' }), AdmissionFailure.SCHEMA],
  ])('refuses %s', (_name, value, code) => {
    expect(admitBytes(value, MAX, origin())).toMatchObject({ ok: false, code });
  });

  describe('an event nested as deep as its leaf allows, and one level deeper', () => {
    /** A signed event whose envelope is `levels` arrays and objects deep (its data nests the rest). */
    const nested = (levels: number) => {
      let data: unknown = 'bottom';
      for (let i = levels - 2; i >= 0; i--) data = i % 2 === 0 ? { down: data } : [data];
      const [event] = supply.signBatch([{ ...signedEvents(1)[0], data }]);
      return event as unknown as Record<string, unknown>;
    };
    const leafOf = (canonicalEvent: Uint8Array) =>
      `{"event":${Buffer.from(canonicalEvent).toString('utf8')},"index":0,"receivedAt":"2026-11-29T10:00:00.000Z","topic":"t"}`;

    it.each([
      ['as JSON.stringify writes it', JSON.stringify],
      ['published canonically', encodeSignedEvent],
    ])('admits the deepest, whose leaf canonicalises, %s', (_, encode) => {
      const verdict = admitBytes(bytes(encode(nested(LEAF_EVENT_MAX_DEPTH))), MAX, origin());
      expect(verdict.ok).toBe(true);
      if (!verdict.ok) return;
      const leaf = leafOf(verdict.canonicalEvent);
      expect(canonicalize(JSON.parse(leaf))).toBe(leaf);
    });

    it.each([
      ['as JSON.stringify writes it', JSON.stringify],
      ['published canonically', encodeSignedEvent],
    ])('refuses one level deeper (validly signed, but its leaf has no canonical form) %s', (_, encode) => {
      const tooDeep = nested(LEAF_EVENT_MAX_DEPTH + 1);
      // The producer could sign it: the event alone canonicalises, its leaf would not.
      expect(() => canonicalize(tooDeep)).not.toThrow();
      expect(admitBytes(bytes(encode(tooDeep)), MAX, origin())).toMatchObject({
        ok: false,
        code: 'LEDGER.EVENT_TOO_DEEP',
      });
    });
  });

  describe('a batch note with copies of its signature line', () => {
    const withLines = (count: number) => {
      const [event] = signedEvents(1);
      const note = event!.batchnote;
      const line = note.slice(note.lastIndexOf('\n\u2014 ') + 1);
      // The note is not part of what the batch proof covers: only the note's own checks can refuse it.
      return bytes({ ...event, batchnote: note + line.repeat(count - 1) });
    };

    it('admits one with 16 lines, the most C2SP signed-note requires a verifier to accept', () => {
      expect(admitBytes(withLines(16), MAX, origin())).toMatchObject({ ok: true });
    });

    it('refuses one with 17 lines, before verifying any', () => {
      expect(admitBytes(withLines(17), MAX, origin())).toMatchObject({
        ok: false,
        code: 'LEDGER.ORIGIN_BAD_NOTE',
        reason: 'more than 16 signatures',
      });
    });
  });

  it('admits a signed event with the canonical form of everything received, proof included', () => {
    const [event] = signedEvents(3);
    const verdict = admitBytes(bytes(event), MAX, origin());
    expect(verdict).toEqual({
      ok: true,
      eventId: event?.id,
      producer: 'supply',
      canonicalEvent: Buffer.from(canonicalize(event), 'utf8'),
      asReceived: false,
    });
  });

  it('admits an event published canonically as the very bytes received', () => {
    const [event] = signedEvents(3);
    const value = bytes(encodeSignedEvent(event as object));
    const verdict = admitBytes(value, MAX, origin());
    expect(verdict).toEqual({
      ok: true,
      eventId: event?.id,
      producer: 'supply',
      canonicalEvent: value,
      asReceived: true,
    });
    expect(verdict.ok && verdict.canonicalEvent).toBe(value);
    const changed = bytes(value.toString('utf8').replace('"serial":"S0"', '"serial":"S9"'));
    expect(admitBytes(changed, MAX, origin())).toMatchObject({ ok: false, code: 'LEDGER.ORIGIN_NOT_IN_BATCH' });
  });

  it('admits an event published canonically with a non-ASCII id, under that id', () => {
    const [event] = supply.signBatch([{ ...signedEvents(1)[0], id: 'évt-\u2014-1' }]);
    const value = bytes(encodeSignedEvent(event as object));
    expect(admitBytes(value, MAX, origin())).toEqual({
      ok: true,
      eventId: 'évt-\u2014-1',
      producer: 'supply',
      canonicalEvent: value,
      asReceived: true,
    });
  });

  it('admits an event with ASCII-only data, and refuses it changed', () => {
    const [event] = supply.signBatch([
      { ...signedEvents(1)[0], data: { serial: 'S1', note: 'plain "quoted" \\ text' } },
    ]);
    const verdict = admitBytes(bytes(event), MAX, origin());
    expect(verdict).toEqual({
      ok: true,
      eventId: event?.id,
      producer: 'supply',
      canonicalEvent: Buffer.from(canonicalize(event), 'utf8'),
      asReceived: false,
    });
    const changed = { ...event, data: { serial: 'S2', note: 'plain "quoted" \\ text' } };
    expect(admitBytes(bytes(changed), MAX, origin())).toMatchObject({ ok: false, code: 'LEDGER.ORIGIN_NOT_IN_BATCH' });
  });

  it('refuses an id PostgreSQL text cannot hold (U+0000)', () => {
    const [event] = supply.signBatch([{ ...signedEvents(1)[0], id: 'evt\u0000-1' }]);
    expect(admitBytes(bytes(event), MAX, origin())).toMatchObject({ ok: false, code: AdmissionFailure.SCHEMA });
  });

  it('refuses an event changed after signing, and one signed by a key not in the keyring', () => {
    const [event] = signedEvents(2);
    const changed = { ...event, subject: 'urn:epc:id:sgtin:0614141.107346.999' };
    expect(admitBytes(bytes(changed), MAX, origin())).toMatchObject({ ok: false, code: 'LEDGER.ORIGIN_NOT_IN_BATCH' });
    const stranger = new OriginVerifier([verifierKey('supply', generateEd25519KeyPair().publicKey)]);
    expect(admitBytes(bytes(event), MAX, stranger)).toMatchObject({ ok: false, code: 'LEDGER.ORIGIN_UNKNOWN_KEY' });
  });

  it('refuses a note the producer signed for another log than its event batches, on either way in', () => {
    const [event] = new OriginSigner('supply', keys.seed, 'medledger.local/records/events').signBatch([
      signedEvents(1)[0] as object,
    ]);
    for (const value of [bytes(event), bytes(encodeSignedEvent(event as object))]) {
      expect(admitBytes(value, MAX, origin())).toMatchObject({
        ok: false,
        code: 'LEDGER.ORIGIN_WRONG_BATCH_ORIGIN',
        reason: 'the batch note is for "medledger.local/records/events", not "medledger.local/supply/events"',
      });
    }
  });

  it('packs a batch into one buffer and admits it in order', () => {
    const events = signedEvents(4);
    const values = [bytes(events[0]), null, bytes(events[1]), bytes('nope'), bytes(events[2])];
    const verdicts = admitPacked(packValues(values), MAX, origin());
    expect(verdicts.map((v) => (v.ok ? v.eventId : v.code))).toEqual([
      events[0]?.id,
      AdmissionFailure.EMPTY,
      events[1]?.id,
      AdmissionFailure.NOT_JSON,
      events[2]?.id,
    ]);
  });
});

describe('checkTopic', () => {
  const admitted = admitBytes(bytes(signedEvents(1)[0]), MAX, origin());

  it.each(['medledger.supply.events', 'test.k3x9.supply.events'])('keeps a supply event on %s', (topic) => {
    expect(checkTopic(admitted, topic)).toBe(admitted);
  });

  it.each([
    ['medledger.records.events', 'an event of supply on the topic of records (medledger.records.events)'],
    ['test.k3x9.trials.events', 'an event of supply on the topic of trials (test.k3x9.trials.events)'],
    ['bench.k3x9.throughput.events', 'an event of supply on a topic of no producer (bench.k3x9.throughput.events)'],
  ])('refuses a supply event on %s', (topic, reason) => {
    expect(checkTopic(admitted, topic)).toEqual({ ok: false, code: AdmissionFailure.WRONG_TOPIC, reason });
  });

  it('passes a refusal on as it is', () => {
    const refused = admitBytes(null, MAX, origin());
    expect(checkTopic(refused, 'medledger.records.events')).toBe(refused);
  });
});

describe('AdmissionPool', () => {
  // A stand-in worker (plain JavaScript: jest runs the sources, the real worker is a webpack bundle): it answers
  // each value with its text as the event id, sends back as canonical bytes the value in upper case except for
  // values starting with "r" (received canonical), and dies on the value "die".
  const dir = mkdtempSync(join(tmpdir(), 'admission-pool-'));
  const file = join(dir, 'worker.js');
  writeFileSync(
    file,
    `const { parentPort } = require('node:worker_threads');
     parentPort.on('message', ({ id, packed }) => {
       const text = Buffer.from(packed.bytes).toString('utf8');
       let at = 0;
       const values = packed.lengths.map((length) => text.slice(at, (at += Math.max(length, 0))));
       if (values.includes('die')) process.exit(3);
       const verdicts = values.map((value) => ({ ok: true, eventId: value, asReceived: value.startsWith('r') }));
       const upper = values.map((value) => (value.startsWith('r') ? '' : value.toUpperCase()));
       const bytes = Buffer.from(upper.join(''));
       const canonical = { bytes, lengths: upper.map((value, i) => (verdicts[i].asReceived ? -1 : value.length)) };
       parentPort.postMessage({ id, packed: { verdicts, canonical } }, [bytes.buffer]);
     });`,
  );
  const ids = (verdicts: Verdict[]) => verdicts.map((v) => (v.ok ? v.eventId : v.code));

  it('splits a batch across its workers and answers in the order given', async () => {
    const pool = new AdmissionPool(file, 3, { maxBytes: MAX, producerKeys: [] });
    try {
      const values = Array.from({ length: 10 }, (_, i) => bytes(`e${i}`));
      expect(ids(await pool.admit(values))).toEqual(values.map((v) => v.toString()));
      expect(await pool.admit([])).toEqual([]);
    } finally {
      await pool.close();
    }
  });

  it('answers an event received canonical with the value it was given, the others with the bytes sent back', async () => {
    const pool = new AdmissionPool(file, 2, { maxBytes: MAX, producerKeys: [] });
    try {
      const values = [bytes('a1'), bytes('r2'), bytes('b3'), bytes('r4'), bytes('r5')];
      const verdicts = await pool.admit(values);
      expect(verdicts.map((v) => v.ok && Buffer.from(v.canonicalEvent).toString())).toEqual([
        'A1',
        'r2',
        'B3',
        'r4',
        'r5',
      ]);
      expect(verdicts[1]?.ok && verdicts[1].canonicalEvent).toBe(values[1]);
    } finally {
      await pool.close();
    }
  });

  it('fails the batch of a worker that dies, and goes on with a new one', async () => {
    const pool = new AdmissionPool(file, 1, { maxBytes: MAX, producerKeys: [] });
    try {
      await expect(pool.admit([bytes('a'), bytes('die')])).rejects.toThrow('admission worker exited with 3');
      expect(ids(await pool.admit([bytes('b')]))).toEqual(['b']);
    } finally {
      await pool.close();
    }
  });
});

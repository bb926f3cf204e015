import { containing, matching } from '../test/matchers';
import { blockHash, canonicalize, headerSigningBytes, toBase64 } from '@medledger/ledger-core';
import {
  at,
  blockOf,
  buildLedger,
  keysOf,
  type LeafContent,
  ORIGIN,
  producer,
  producersOf,
  reseal,
  rewrite,
  seal,
  seed,
  signer,
  stream,
  type TestLedger,
} from '../test/test-ledger';
import {
  OriginSigner,
  parseCheckpoint,
  parseNote,
  signKeyChange,
  verifierKey,
  type Checkpoint,
} from '@medledger/ledger-core';
import { verifyChain, type ChainInput, type ChainReport } from './chain-verifier';
import { VerifyCode } from './codes';
import { type LeafRecord } from './leaf';

function verify(ledger: TestLedger, overrides: Partial<ChainInput> = {}): Promise<ChainReport> {
  return verifyChain({
    keys: keysOf(...ledger.signers),
    checkpoint: ledger.checkpoint,
    blocks: stream(ledger.blocks),
    leaves: stream(ledger.leaves),
    ...overrides,
  });
}

/** The leaf with one byte of its data changed at `offset` (counted from the end when negative). */
function withByte(leaf: LeafRecord, offset: number, byte: number): LeafRecord {
  const data = Buffer.from(leaf.leafData, 'base64');
  data[offset < 0 ? data.length + offset : offset] = byte;
  return { ...leaf, leafData: toBase64(data) };
}

/** Offset of the first byte of `needle` in the leaf's data. */
function offsetOf(leaf: LeafRecord, needle: string): number {
  return Buffer.from(leaf.leafData, 'base64').indexOf(needle);
}

describe('verifyChain', () => {
  it('accepts a sound ledger and reports its size and root', async () => {
    const ledger = buildLedger();
    const report = await verify(ledger);
    expect(report).toEqual({
      ok: true,
      blocks: 5,
      leaves: 21,
      treeSize: 21,
      root: toBase64(ledger.tree.root()),
      origin: 'test.local/ledger',
      sealedAt: at(ledger.blocks, 4).sealedAt,
    });
  });

  it('accepts an empty log (no checkpoint, no blocks)', async () => {
    const report = await verify(buildLedger({ blockSizes: [] }));
    expect(report).toMatchObject({ ok: true, blocks: 0, leaves: 0 });
  });

  it('accepts blocks signed by a rotated key when both keys are trusted, and names the block otherwise', async () => {
    const [a, b] = [signer(1), signer(2)];
    const ledger = buildLedger({ keyFor: (h) => (h < 2 ? a : b) });
    expect((await verify(ledger, { keys: keysOf(a, b) })).ok).toBe(true);
    // The latest checkpoint is b's: the run gets to the blocks and stops at the first one signed by a.
    expect(await verify(ledger, { keys: keysOf(b) })).toMatchObject({
      code: VerifyCode.UNKNOWN_KEY,
      height: 0,
      message: containing(`block 0: unknown key (key ${a.keyId}`),
    });
  });

  describe('key changes (ledger-format §5.1)', () => {
    const [a, b] = [signer(1), signer(2)];

    it('names the first block another trusted key signed without a key change record', async () => {
      const ledger = buildLedger({ keyFor: (h) => (h < 2 ? a : b), recordKeyChanges: false });
      expect(await verify(ledger, { keys: keysOf(a, b) })).toMatchObject({
        code: VerifyCode.KEY_CHANGE_MISSING,
        height: 2,
        message: containing(`block 2: key changed without a record (block 2 is signed by key ${b.keyId}, block 1`),
      });
    });

    it('names a block of another trusted key in the middle of a chain, though the keys change back', async () => {
      const ledger = buildLedger({ keyFor: (h) => (h === 3 ? b : a), recordKeyChanges: false });
      expect(await verify(ledger, { keys: keysOf(a, b) })).toMatchObject({
        code: VerifyCode.KEY_CHANGE_MISSING,
        height: 3,
      });
    });

    it('names a block whose record is signed by the new key, not the one before it', async () => {
      const ledger = buildLedger({ keyFor: (h) => (h < 2 ? a : b) });
      const forged = signKeyChange(
        {
          origin: ORIGIN,
          height: 2,
          previousHash: at(ledger.blocks, 1).hash,
          newKey: verifierKey(b.name, b.publicKey),
        },
        b,
      );
      rewrite(ledger, 2, { keyChange: forged }, b);
      expect(await verify(ledger, { keys: keysOf(a, b) })).toMatchObject({
        code: VerifyCode.KEY_CHANGE_INVALID,
        height: 2,
        message: containing(`not signed by key ${a.keyId}`),
      });
    });

    it('names a block whose record is replayed from another height', async () => {
      const ledger = buildLedger({ keyFor: (h) => (h < 2 ? a : b) });
      const record = at(ledger.blocks, 2).keyChange;
      // Block 2 goes back to a's key; the record moves to block 3, where the chain now hands over.
      rewrite(ledger, 2, { keyChange: undefined }, a);
      rewrite(ledger, 3, { keyChange: record }, b);
      expect(await verify(ledger, { keys: keysOf(a, b) })).toMatchObject({
        code: VerifyCode.KEY_CHANGE_INVALID,
        height: 3,
        message: containing('for height 2'),
      });
    });

    it('does not trust a key because a record names it: the new key must be pinned too', async () => {
      const ledger = buildLedger({ keyFor: (h) => (h < 2 ? a : b) });
      expect(await verify(ledger, { keys: keysOf(a), checkpoint: at(ledger.blocks, 1).checkpoint })).toMatchObject({
        code: VerifyCode.UNKNOWN_KEY,
        height: 2,
      });
    });
  });

  describe('names the block of a tampered leaf', () => {
    const ledger = buildLedger();
    it.each([0, 2, 3, 8, 9, 20])('leaf %i: one byte of the event data changed', async (index) => {
      const leaves = [...ledger.leaves];
      // SN<n> -> SM<n>: still canonical JSON, so only the recomputed root can tell.
      leaves[index] = withByte(
        at(ledger.leaves, index),
        offsetOf(at(ledger.leaves, index), '"SN') + 2,
        'M'.charCodeAt(0),
      );
      const report = await verify(ledger, { leaves: stream(leaves) });
      const height = blockOf(ledger, index);
      expect(report).toMatchObject({ ok: false, code: VerifyCode.ROOT_MISMATCH, height });
      expect(!report.ok && report.message).toMatch(
        new RegExp(
          `^block ${height}: root mismatch \\(leaves recompute to \\S+, header says ${at(ledger.blocks, height).root.replace(/[+/]/g, '\\$&')}\\)$`,
        ),
      );
    });

    it.each([
      [
        'a byte that breaks the JSON',
        (leaf: LeafRecord) => withByte(leaf, -1, '!'.charCodeAt(0)),
        VerifyCode.LEAF_INVALID,
      ],
      [
        'bytes that are JSON but not canonical',
        (leaf: LeafRecord) => ({
          ...leaf,
          leafData: toBase64(
            Buffer.from(JSON.stringify(JSON.parse(Buffer.from(leaf.leafData, 'base64').toString()), null, 1)),
          ),
        }),
        VerifyCode.LEAF_NOT_CANONICAL,
      ],
      [
        'an index inside the leaf other than its place',
        (leaf: LeafRecord) => {
          const value = JSON.parse(Buffer.from(leaf.leafData, 'base64').toString()) as { index: number };
          return { ...leaf, leafData: toBase64(Buffer.from(canonicalize({ ...value, index: value.index + 1 }))) };
        },
        VerifyCode.LEAF_INVALID,
      ],
      [
        'a listed eventId that is not the event inside',
        (leaf: LeafRecord) => ({ ...leaf, eventId: 'evt-x' }),
        VerifyCode.EVENT_ID_MISMATCH,
      ],
      [
        'leafData that is not base64',
        (leaf: LeafRecord) => ({ ...leaf, leafData: 'not base64!' }),
        VerifyCode.LEAF_INVALID,
      ],
    ])('leaf 9: %s', async (_, tamper, code) => {
      const leaves = [...ledger.leaves];
      leaves[9] = tamper(at(ledger.leaves, 9));
      const report = await verify(ledger, { leaves: stream(leaves) });
      expect(report).toMatchObject({
        ok: false,
        code,
        height: 3,
        leafIndex: 9,
        message: matching(/^block 3: leaf 9: /),
      });
    });

    it('two leaves swapped', async () => {
      const leaves = [...ledger.leaves];
      [leaves[4], leaves[5]] = [at(leaves, 5), at(leaves, 4)];
      expect(await verify(ledger, { leaves: stream(leaves) })).toMatchObject({
        code: VerifyCode.LEAF_INVALID,
        height: 1,
        message: 'block 1: leaf 4: listed with index 5 in the place of 4',
      });
    });

    it('a leaf missing at the end', async () => {
      expect(await verify(ledger, { leaves: stream(ledger.leaves.slice(0, -1)) })).toMatchObject({
        code: VerifyCode.LEAF_MISSING,
        height: 4,
      });
    });

    it('a leaf no block seals', async () => {
      const extra = { index: 21, eventId: 'evt-21', leafData: at(ledger.leaves, 0).leafData };
      expect(await verify(ledger, { leaves: stream([...ledger.leaves, extra]) })).toMatchObject({
        code: VerifyCode.EXTRA_LEAVES,
        message: matching(/^leaf 21: after the last block/),
      });
    });
  });

  it('refuses an event appended twice, even in a correctly signed ledger', async () => {
    const ledger = buildLedger({ eventId: (index) => (index === 11 ? 'evt-2' : `evt-${index}`) });
    expect(await verify(ledger)).toMatchObject({ code: VerifyCode.DUPLICATE_EVENT, height: 3, leafIndex: 11 });
  });

  describe('names the first bad block of a tampered chain', () => {
    let ledger: TestLedger;
    beforeEach(() => {
      ledger = buildLedger();
    });

    it.each([
      ['sealedAt', { sealedAt: '2026-11-23T12:00:03.001Z' }, VerifyCode.SIGNATURE_INVALID],
      ['root', { root: toBase64(new Uint8Array(32).fill(9)) }, VerifyCode.SIGNATURE_INVALID],
      ['leafCount and treeSize', { leafCount: 2, treeSize: 10 }, VerifyCode.SIGNATURE_INVALID],
      ['leafCount alone', { leafCount: 2 }, VerifyCode.BLOCK_MALFORMED],
      ['keyId', { keyId: 'abcd1234' }, VerifyCode.UNKNOWN_KEY],
    ])('header field %s changed without the key', async (_, change, code) => {
      ledger.blocks[2] = { ...at(ledger.blocks, 2), ...change };
      expect(await verify(ledger)).toMatchObject({
        ok: false,
        code,
        height: 2,
        message: matching(/^block 2: /),
      });
    });

    it('signature changed', async () => {
      const signature = Buffer.from(at(ledger.blocks, 3).signature, 'base64');
      signature.writeUInt8(signature.readUInt8(0) ^ 1, 0);
      ledger.blocks[3] = { ...at(ledger.blocks, 3), signature: toBase64(signature) };
      expect(await verify(ledger)).toMatchObject({
        code: VerifyCode.SIGNATURE_INVALID,
        height: 3,
        message: `block 3: signature invalid (key ${signer().keyId})`,
      });
    });

    it('hash field that is not the header hash', async () => {
      ledger.blocks[1] = { ...at(ledger.blocks, 1), hash: at(ledger.blocks, 0).hash };
      expect(await verify(ledger)).toMatchObject({ code: VerifyCode.HASH_MISMATCH, height: 1 });
    });

    it('previousHash changed and re-signed by the key holder', async () => {
      rewrite(ledger, 3, { previousHash: at(ledger.blocks, 1).hash });
      expect(await verify(ledger)).toMatchObject({
        code: VerifyCode.PREVIOUS_HASH_MISMATCH,
        height: 3,
        message: matching(/^block 3: chain link broken to block 2/),
      });
    });

    it('root changed and re-signed by the key holder (the leaves still tell)', async () => {
      const forged = toBase64(new Uint8Array(32).fill(1));
      rewrite(ledger, 2, { root: forged });
      expect(await verify(ledger)).toMatchObject({
        code: VerifyCode.ROOT_MISMATCH,
        height: 2,
        message: containing(`header says ${forged})`),
      });
    });

    it('sealedAt moved before the previous block and re-signed', async () => {
      rewrite(ledger, 4, { sealedAt: '2026-11-23T11:00:00.000Z' });
      expect(await verify(ledger)).toMatchObject({ code: VerifyCode.TIME_REVERSED, height: 4 });
    });

    it('genesis with a non-zero previousHash, signed by the key holder', async () => {
      // signHeader refuses to sign a bad genesis, so sign the bytes directly, as a forger would.
      const { hash: _hash, signature: _signature, checkpoint, ...header } = at(ledger.blocks, 0);
      const forged = { ...header, previousHash: at(ledger.blocks, 1).previousHash };
      const signed = { ...forged, signature: toBase64(signer().sign(headerSigningBytes(forged))) };
      ledger.blocks[0] = { ...signed, hash: toBase64(blockHash(signed)), checkpoint };
      expect(await verify(ledger)).toMatchObject({ code: VerifyCode.BAD_GENESIS, height: 0 });
    });

    it('a block dropped', async () => {
      ledger.blocks.splice(2, 1);
      expect(await verify(ledger)).toMatchObject({
        code: VerifyCode.BLOCK_MISSING,
        height: 2,
        message: 'block 2: missing or out of order (found block 3 in its place)',
      });
    });

    it('two blocks reordered', async () => {
      [ledger.blocks[1], ledger.blocks[2]] = [at(ledger.blocks, 2), at(ledger.blocks, 1)];
      expect(await verify(ledger)).toMatchObject({ code: VerifyCode.BLOCK_MISSING, height: 1 });
    });

    it('an extra field in a header', async () => {
      ledger.blocks[1] = { ...at(ledger.blocks, 1), note: 'trust me' } as never;
      expect(await verify(ledger)).toMatchObject({ code: VerifyCode.BLOCK_MALFORMED, height: 1 });
    });

    it('the earliest of several bad blocks', async () => {
      ledger.blocks[4] = { ...at(ledger.blocks, 4), sealedAt: '2026-11-23T12:00:09.000Z' };
      const leaves = [...ledger.leaves];
      leaves[4] = { ...at(leaves, 4), eventId: 'evt-nope' };
      expect(await verify(ledger, { leaves: stream(leaves) })).toMatchObject({ height: 1 });
    });
  });

  describe('keys', () => {
    it('names block 0 when its key is not trusted', async () => {
      const ledger = buildLedger();
      const stranger = signer(99);
      // Without a latest checkpoint (checked first) the run gets to the blocks.
      const report = await verify(ledger, { keys: keysOf(stranger), checkpoint: undefined });
      expect(report).toMatchObject({ code: VerifyCode.UNKNOWN_KEY, height: 0 });
    });

    it('refuses a latest checkpoint no trusted key signed', async () => {
      const ledger = buildLedger();
      const other = buildLedger({ keyFor: () => signer(42) });
      expect(await verify(ledger, { checkpoint: other.checkpoint })).toMatchObject({
        code: VerifyCode.CHECKPOINT_INVALID,
        message: matching(/^latest checkpoint: /),
      });
    });

    it('refuses checkpoints of another origin when the origin is pinned', async () => {
      expect(await verify(buildLedger(), { origin: 'elsewhere/ledger' })).toMatchObject({
        code: VerifyCode.CHECKPOINT_INVALID,
      });
    });
  });

  describe('checkpoints', () => {
    it('names a block whose checkpoint is for another size', async () => {
      const ledger = buildLedger();
      ledger.blocks[2] = { ...at(ledger.blocks, 2), checkpoint: at(ledger.blocks, 1).checkpoint };
      expect(await verify(ledger)).toMatchObject({ code: VerifyCode.CHECKPOINT_MISMATCH, height: 2 });
    });

    it("names a block whose checkpoint is not signed by the block's key", async () => {
      const [a, b] = [signer(1), signer(2)];
      const ledger = buildLedger({ keyFor: () => a });
      const byB = seal(at(ledger.blocks, 1), b);
      ledger.blocks[1] = { ...at(ledger.blocks, 1), checkpoint: byB.checkpoint };
      expect(await verify(ledger, { keys: keysOf(a, b) })).toMatchObject({
        code: VerifyCode.CHECKPOINT_INVALID,
        height: 1,
      });
    });

    it('refuses a latest checkpoint that is not the last block', async () => {
      const ledger = buildLedger();
      ledger.checkpoint = at(ledger.blocks, 3).checkpoint;
      expect(await verify(ledger)).toMatchObject({
        code: VerifyCode.CHECKPOINT_MISMATCH,
        message: matching(/^checkpoint: the latest checkpoint \(tree size 17, .*last block 4 \(tree size 21/),
      });
    });

    it('refuses blocks without a latest checkpoint', async () => {
      const ledger = buildLedger();
      expect(await verify(ledger, { checkpoint: undefined })).toMatchObject({ code: VerifyCode.CHECKPOINT_MISSING });
    });
  });

  it('streams: stops reading leaves at the first bad block and reports progress per block', async () => {
    const ledger = buildLedger();
    ledger.blocks[1] = { ...at(ledger.blocks, 1), root: at(ledger.blocks, 0).root };
    let read = 0;
    async function* counted() {
      for (const leaf of ledger.leaves) {
        read++;
        yield leaf;
      }
    }
    const progress: number[] = [];
    const report = await verify(ledger, {
      leaves: counted(),
      onProgress: ({ leaves }) => progress.push(leaves),
    });
    expect(report).toMatchObject({ height: 1 });
    expect(read).toBe(3); // block 0's leaves only: block 1 fails on its signature before its leaves are read
    expect(progress).toEqual([3]);
  });
});

describe('verifyChain with pinned producer keys', () => {
  const ledger = buildLedger();
  const producers = producersOf(ledger.producer);
  const withProducers = (changed: TestLedger) => verify(changed, { producers });

  it('accepts a sound ledger: every leaf proves into a batch its producer signed', async () => {
    expect(await withProducers(ledger)).toMatchObject({ ok: true, leaves: 21 });
  });

  // The operator re-signs everything it signs (roots, headers, checkpoints): only the producers' proofs can tell.
  it.each([
    [
      'an event made up, with no proof of origin',
      (c: LeafContent) => {
        const { producerkey: _k, batchnote: _n, batchindex: _i, batchproof: _p, ...event } = c.event;
        return { ...c, event: { ...event, id: 'evt-made-up' } };
      },
      VerifyCode.ORIGIN_BAD_NOTE,
    ],
    [
      'an event made up and signed by a key the producer does not own',
      (c: LeafContent) => {
        const madeUp: Record<string, unknown> = { ...c.event, id: 'evt-made-up' };
        const [event] = producer(66).signBatch([madeUp]);
        return { ...c, event: event as Record<string, unknown> };
      },
      VerifyCode.ORIGIN_UNKNOWN_KEY,
    ],
    [
      'an event changed',
      (c: LeafContent) => ({ ...c, event: { ...c.event, data: { serial: 'SN-forged' } } }),
      VerifyCode.ORIGIN_NOT_IN_BATCH,
    ],
    [
      'an event moved to another place in its batch',
      (c: LeafContent) => ({ ...c, event: { ...c.event, batchindex: 1 } }),
      VerifyCode.ORIGIN_NOT_IN_BATCH,
    ],
    [
      "an event sealed from another producer's topic",
      (c: LeafContent) => ({ ...c, topic: 'medledger.records.events' }),
      VerifyCode.WRONG_TOPIC,
    ],
    [
      'an event whose batch note the producer signed for another log',
      (c: LeafContent) => {
        // The producer's own key (seed 9), but a note for another of its logs.
        const [event] = new OriginSigner('supply', seed(9), 'medledger.local/supply/audit').signBatch([c.event]);
        return { ...c, event: event as Record<string, unknown> };
      },
      VerifyCode.ORIGIN_WRONG_BATCH_ORIGIN,
    ],
  ])('names the leaf of %s', async (_, change, code) => {
    const forged = reseal(ledger, (content) => (content.index === 10 ? change(content) : content));
    // Everything the ledger signs is consistent again: without producer keys, it verifies.
    expect((await verify(forged)).ok).toBe(true);
    expect(await withProducers(forged)).toMatchObject({
      ok: false,
      code,
      height: 3,
      leafIndex: 10,
      message: matching(/^block 3: leaf 10: event "evt-\S+": proof of origin fails \(.+\)$/),
    });
  });
});

describe('verifyChain and time', () => {
  it('names the leaf received after its block was sealed', async () => {
    const ledger = buildLedger();
    const late = reseal(ledger, (c) =>
      c.index === 12 ? { ...c, receivedAt: new Date(Date.parse(at(ledger.blocks, 3).sealedAt) + 1).toISOString() } : c,
    );
    expect(await verify(late)).toMatchObject({
      ok: false,
      code: VerifyCode.RECEIVED_AFTER_SEALED,
      height: 3,
      leafIndex: 12,
      message: matching(/^block 3: leaf 12: received at \S+, after the block was sealed at \S+$/),
    });
  });

  it('accepts a leaf received at the very millisecond its block was sealed', async () => {
    const ledger = buildLedger();
    const same = reseal(ledger, (c) => (c.index === 12 ? { ...c, receivedAt: at(ledger.blocks, 3).sealedAt } : c));
    expect((await verify(same)).ok).toBe(true);
  });
});

describe('verifyChain against a recorded checkpoint (--state)', () => {
  const ledger = buildLedger();
  const recordedAt = (h: number, source = ledger): Checkpoint => {
    const opened = parseNote(at(source.blocks, h).checkpoint);
    if (!opened.ok) throw new Error(opened.reason);
    const parsed = parseCheckpoint(opened.value.text);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.value;
  };

  it.each([0, 2, 4])('accepts a log that holds the tree recorded at block %i', async (h) => {
    expect((await verify(ledger, { recorded: recordedAt(h) })).ok).toBe(true);
  });

  it('raises a split view when the log has another root at a recorded size inside a block', async () => {
    const recorded = { ...recordedAt(2), size: 10, root: ledger.tree.root(10) };
    expect((await verify(ledger, { recorded })).ok).toBe(true);
    const rewritten = reseal(ledger, (c) => (c.index === 5 ? { ...c, receivedAt: '2026-11-23T12:00:00.999Z' } : c));
    expect(await verify(rewritten, { recorded })).toMatchObject({
      ok: false,
      code: VerifyCode.ROOT_CHANGED,
      splitView: true,
      height: 3,
      message: matching(
        /^block 3: the log's root at the recorded tree size 10 is \S+, the recorded checkpoint's \S+: the log was rewritten$/,
      ),
    });
  });

  it('raises a split view when the log is smaller than the recorded tree', async () => {
    const shorter = buildLedger({ blockSizes: [3, 5] });
    expect(await verify(shorter, { recorded: recordedAt(3) })).toMatchObject({
      ok: false,
      code: VerifyCode.TREE_SHRANK,
      splitView: true,
    });
    expect(await verify(buildLedger({ blockSizes: [] }), { recorded: recordedAt(0) })).toMatchObject({
      code: VerifyCode.TREE_SHRANK,
      splitView: true,
    });
  });

  it('names a tampered leaf as such, not as a split view, though the recorded size is inside it', async () => {
    const leaves = [...ledger.leaves];
    leaves[9] = withByte(at(ledger.leaves, 9), offsetOf(at(ledger.leaves, 9), '"SN') + 2, 'M'.charCodeAt(0));
    const report = await verify(ledger, { leaves: stream(leaves), recorded: recordedAt(3) });
    expect(report).toMatchObject({ code: VerifyCode.ROOT_MISMATCH, height: 3 });
    expect(!report.ok && report.splitView).toBeUndefined();
  });
});

import { randomBytes } from 'node:crypto';
import type { BlockSealedData } from '@medledger/contracts';
import {
  blockHash,
  createSigner,
  GENESIS_PREVIOUS_HASH,
  leafData,
  leafHash,
  MemoryMerkleTree,
  OriginSigner,
  parseVerifierKey,
  signCheckpoint,
  signHeader,
  toBase64,
  verifierKey,
} from '@medledger/ledger-core';
import {
  AnnouncementFailure,
  checkAnnouncement,
  proveAnnouncement,
  proveBlock,
  type BlockProofs,
} from './announcement';

const ORIGIN = 'medledger.test/ledger';
const ledgerKey = createSigner(ORIGIN, randomBytes(32));
const pinned = [parseVerifierKey(verifierKey(ORIGIN, ledgerKey.publicKey))].map((p) => {
  if (!p.ok) throw new Error(p.reason);
  return p.value;
});

/**
 * A block of six leaves built with ledger-core as the ledger builds it: leaves 0-1 are another service's, 2-5 ours.
 * Ours 2 and 4 are the events of this service's announced-block check; the ledger answers with their proofs.
 */
function fixture() {
  const producer = new OriginSigner('records', randomBytes(32));
  const envelopes = Array.from({ length: 6 }, (_, n) => ({
    specversion: '1.0',
    id: `00000000-0000-4000-8000-00000000000${n}`,
    source: '/medledger/records',
    type: 'records.PatientRegistered',
    time: '2026-12-02T10:00:00.000Z',
    datacontenttype: 'application/json',
    data: { patientId: `p${n}`, versionId: '1' },
  }));
  const leaves = producer
    .signBatch(envelopes)
    .map((event, index) =>
      leafData({ index, receivedAt: '2026-12-02T10:00:01.000Z', topic: 'medledger.records.events', event }),
    );
  const tree = new MemoryMerkleTree(leaves.map(leafHash));
  const header = signHeader(
    {
      height: 0,
      previousHash: GENESIS_PREVIOUS_HASH,
      firstLeafIndex: 0,
      leafCount: 6,
      treeSize: 6,
      root: toBase64(tree.root()),
      sealedAt: '2026-12-02T10:00:01.100Z',
      keyId: ledgerKey.keyId,
    },
    ledgerKey,
  );
  const checkpoint = signCheckpoint({ origin: ORIGIN, size: 6, root: tree.root(), extensions: [] }, [ledgerKey]);
  const ours = [2, 4];
  const announcement: BlockSealedData = {
    height: 0,
    treeSize: 6,
    root: header.root,
    blockHash: toBase64(blockHash(header)),
    checkpoint,
    events: envelopes.map((e, index) => ({ eventId: e.id, index })),
  };
  const answer: BlockProofs = {
    block: { ...header, hash: announcement.blockHash, checkpoint },
    proofs: ours.map((index) => ({
      eventId: envelopes[index]?.id ?? '',
      index,
      leafData: toBase64(leaves[index] as Uint8Array),
      hashes: tree.inclusionProof(index).map(toBase64),
    })),
    absent: [],
  };
  const own = new Map(ours.map((index) => [envelopes[index]?.id ?? '', envelopes[index] as Record<string, unknown>]));
  return { announcement, answer, own, envelopes };
}

function flipSignature(note: string): string {
  return note.replace(/— (\S+) (\S+)\n/, (_m, name: string, sig: string) => {
    const bytes = Buffer.from(sig, 'base64');
    bytes[10] = (bytes[10] ?? 0) ^ 0x80;
    return `— ${name} ${bytes.toString('base64')}\n`;
  });
}

describe('checkAnnouncement (before any request)', () => {
  it('accepts a checkpoint signed by the pinned key whose size and root are the announcement’s', () => {
    expect(checkAnnouncement(fixture().announcement, pinned, ORIGIN)).toBeUndefined();
  });

  test.each<[string, (a: BlockSealedData) => BlockSealedData, string]>([
    ['a forged checkpoint signature', (a) => ({ ...a, checkpoint: flipSignature(a.checkpoint) }), 'BAD_CHECKPOINT'],
    [
      'a checkpoint signed by another key',
      (a) => ({
        ...a,
        checkpoint: signCheckpoint({ origin: ORIGIN, size: 6, root: Buffer.from(a.root, 'base64'), extensions: [] }, [
          createSigner(ORIGIN, randomBytes(32)),
        ]),
      }),
      'BAD_CHECKPOINT',
    ],
    ['another tree size than the checkpoint’s', (a) => ({ ...a, treeSize: 7 }), 'MISMATCH'],
    ['another root than the checkpoint’s', (a) => ({ ...a, root: toBase64(new Uint8Array(32)) }), 'MISMATCH'],
  ])('refuses %s', (_name, forge, code) => {
    expect(checkAnnouncement(forge(fixture().announcement), pinned, ORIGIN)).toMatchObject({
      ok: false,
      code: AnnouncementFailure[code as keyof typeof AnnouncementFailure],
    });
  });

  it('refuses a checkpoint of another log', () => {
    expect(checkAnnouncement(fixture().announcement, pinned, 'medledger.other/ledger')).toMatchObject({
      code: AnnouncementFailure.BAD_CHECKPOINT,
    });
  });
});

describe('proveAnnouncement (the ledger’s answer against the announcement)', () => {
  it('proves each of our events at its announced index, with the block’s own checkpoint', () => {
    const { announcement, answer, own } = fixture();
    const proven = proveAnnouncement(announcement, answer, own, pinned, ORIGIN);
    expect(proven).toMatchObject({ ok: true, height: 0, treeSize: 6, absent: [] });
    if (!proven.ok) return;
    expect(proven.receipts.map((r) => [r.leafIndex, r.blockHeight, r.treeSize])).toEqual([
      [2, 0, 6],
      [4, 0, 6],
    ]);
    expect(proven.receipts[0]?.checkpoint).toBe(announcement.checkpoint);
  });

  test.each<[string, (f: ReturnType<typeof fixture>) => Parameters<typeof proveAnnouncement>, string]>([
    [
      'a genuine checkpoint with our events swapped (wrong event→index mapping)',
      ({ announcement, answer, own, envelopes }) => [
        {
          ...announcement,
          events: announcement.events.map((e) => ({
            ...e,
            index: e.eventId === envelopes[2]?.id ? 4 : e.eventId === envelopes[4]?.id ? 2 : e.index,
          })),
        },
        answer,
        own,
        pinned,
        ORIGIN,
      ],
      AnnouncementFailure.MISMATCH,
    ],
    [
      'another block hash',
      ({ announcement, answer, own }) => [
        { ...announcement, blockHash: toBase64(new Uint8Array(32)) },
        answer,
        own,
        pinned,
        ORIGIN,
      ],
      AnnouncementFailure.MISMATCH,
    ],
    [
      'another height',
      ({ announcement, answer, own }) => [{ ...announcement, height: 3 }, answer, own, pinned, ORIGIN],
      AnnouncementFailure.MISMATCH,
    ],
    [
      'an event of ours the block does not hold',
      ({ announcement, answer, own, envelopes }) => [
        announcement,
        { ...answer, proofs: answer.proofs.slice(1), absent: [envelopes[2]?.id ?? ''] },
        own,
        pinned,
        ORIGIN,
      ],
      AnnouncementFailure.MISMATCH,
    ],
    [
      'a leaf that is not our event as committed',
      ({ announcement, answer, own, envelopes }) => [
        announcement,
        answer,
        new Map([...own].map(([id, e]) => [id, id === envelopes[2]?.id ? { ...e, data: { patientId: 'x' } } : e])),
        pinned,
        ORIGIN,
      ],
      AnnouncementFailure.LEAF_MISMATCH,
    ],
    [
      'a tampered inclusion proof',
      ({ announcement, answer, own }) => [
        announcement,
        { ...answer, proofs: answer.proofs.map((p) => ({ ...p, hashes: [...p.hashes].reverse() })) },
        own,
        pinned,
        ORIGIN,
      ],
      AnnouncementFailure.BAD_PROOF,
    ],
    [
      'a forged block signature',
      ({ announcement, answer, own }) => [
        announcement,
        { ...answer, block: { ...answer.block, sealedAt: '2026-12-02T10:00:09.000Z' } },
        own,
        pinned,
        ORIGIN,
      ],
      AnnouncementFailure.BAD_BLOCK,
    ],
  ])('refuses %s', (_name, build, code) => {
    expect(proveAnnouncement(...build(fixture()))).toMatchObject({ ok: false, code });
  });
});

describe('proveBlock (stored claims proven again)', () => {
  it('gives the ledger’s proven indexes and lists the events the block does not hold', () => {
    const { answer, own, envelopes } = fixture();
    const claimed = new Map([...own, [envelopes[5]?.id ?? '', envelopes[5] as Record<string, unknown>]]);
    const proven = proveBlock({ ...answer, absent: [envelopes[5]?.id ?? ''] }, claimed, pinned, ORIGIN);
    expect(proven).toMatchObject({ ok: true, absent: [envelopes[5]?.id] });
    if (proven.ok) expect(proven.receipts.map((r) => r.leafIndex)).toEqual([2, 4]);
  });

  it('refuses proofs of events not asked for', () => {
    const { answer, own, envelopes } = fixture();
    own.delete(envelopes[4]?.id ?? '');
    expect(proveBlock(answer, own, pinned, ORIGIN)).toMatchObject({ ok: false });
  });
});

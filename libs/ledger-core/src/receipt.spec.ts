import { randomBytes } from 'node:crypto';
import {
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
  type NoteVerifier,
} from './index';
import {
  ReceiptFailure,
  verifyBlockReceipts,
  verifyReceipt,
  type BlockReceiptsMaterial,
  type ReceiptMaterial,
} from './receipt';

const ORIGIN = 'medledger.test/ledger';
const ledgerKey = createSigner(ORIGIN, randomBytes(32));
const pinned = [parseVerifierKey(verifierKey(ORIGIN, ledgerKey.publicKey))].map((p) => {
  if (!p.ok) throw new Error(p.reason);
  return p.value;
});

/** A five-event ledger built with ledger-core (as the ledger builds it), and the receipt of event 3. */
function fixture(): ReceiptMaterial {
  const producer = new OriginSigner('records', randomBytes(32));
  const envelopes = Array.from({ length: 5 }, (_, n) => ({
    specversion: '1.0',
    id: `00000000-0000-4000-8000-00000000000${n}`,
    source: '/medledger/records',
    type: 'records.PatientRegistered',
    time: '2026-11-24T10:00:00.000Z',
    datacontenttype: 'application/json',
    data: { patientId: `p${n}`, versionId: '1' },
  }));
  const signed = producer.signBatch(envelopes);
  const leaves = signed.map((event, index) =>
    leafData({ index, receivedAt: '2026-11-24T10:00:01.000Z', topic: 'medledger.records.events', event }),
  );
  const tree = new MemoryMerkleTree(leaves.map(leafHash));
  const block = signHeader(
    {
      height: 0,
      previousHash: GENESIS_PREVIOUS_HASH,
      firstLeafIndex: 0,
      leafCount: 5,
      treeSize: 5,
      root: toBase64(tree.root()),
      sealedAt: '2026-11-24T10:00:01.100Z',
      keyId: ledgerKey.keyId,
    },
    ledgerKey,
  );
  const checkpoint = signCheckpoint({ origin: ORIGIN, size: 5, root: tree.root(), extensions: [] }, [ledgerKey]);
  return {
    eventId: envelopes[3]?.id ?? '',
    envelope: envelopes[3] as unknown as Record<string, unknown>,
    leafIndex: 3,
    blockHeight: 0,
    leafData: toBase64(leaves[3] as Uint8Array),
    block: { ...block, hash: 'derived fields of the API are ignored', checkpoint },
    checkpoint,
    proof: tree.inclusionProof(3).map(toBase64),
  };
}

function flipBase64(text: string, byte = 0): string {
  const bytes = Buffer.from(text, 'base64');
  bytes[byte] = (bytes[byte] ?? 0) ^ 0x01;
  return bytes.toString('base64');
}

describe('verifyReceipt', () => {
  it('accepts a sound receipt', () => {
    const verdict = verifyReceipt(fixture(), pinned, ORIGIN);
    expect(verdict).toMatchObject({ ok: true, checkpoint: { size: 5 }, block: { height: 0 } });
  });

  const stranger: NoteVerifier[] = (() => {
    const other = createSigner(ORIGIN, randomBytes(32));
    const parsed = parseVerifierKey(verifierKey(ORIGIN, other.publicKey));
    if (!parsed.ok) throw new Error(parsed.reason);
    return [parsed.value];
  })();

  test.each<[string, (m: ReceiptMaterial) => ReceiptMaterial, string, NoteVerifier[]?]>([
    [
      'a proof element flipped',
      (m) => ({ ...m, proof: [flipBase64(m.proof[0] ?? ''), ...m.proof.slice(1)] }),
      ReceiptFailure.BAD_PROOF,
    ],
    ['a proof element removed', (m) => ({ ...m, proof: m.proof.slice(1) }), ReceiptFailure.BAD_PROOF],
    ['a proof element added', (m) => ({ ...m, proof: [...m.proof, m.proof[0] ?? ''] }), ReceiptFailure.BAD_PROOF],
    ['proof elements reordered', (m) => ({ ...m, proof: [...m.proof].reverse() }), ReceiptFailure.BAD_PROOF],
    [
      'the checkpoint signature flipped',
      (m) => ({
        ...m,
        checkpoint: m.checkpoint.replace(
          /— (\S+) (\S+)\n/,
          (_x, n: string, s: string) => `— ${n} ${flipBase64(s, 9)}\n`,
        ),
      }),
      ReceiptFailure.BAD_CHECKPOINT,
    ],
    ['a checkpoint by a key not pinned', (m) => m, ReceiptFailure.BAD_CHECKPOINT, stranger],
    [
      'the block signature flipped',
      (m) => ({
        ...m,
        block: { ...(m.block as object), signature: flipBase64((m.block as { signature: string }).signature) },
      }),
      ReceiptFailure.BAD_BLOCK,
    ],
    [
      'the block header altered',
      (m) => ({ ...m, block: { ...(m.block as object), sealedAt: '2026-11-24T10:00:02.000Z' } }),
      ReceiptFailure.BAD_BLOCK,
    ],
    ['a block at another height', (m) => ({ ...m, blockHeight: 1 }), ReceiptFailure.BAD_BLOCK],
    ['a leaf index outside the block', (m) => ({ ...m, leafIndex: 7 }), ReceiptFailure.BAD_BLOCK],
    ['another leaf index', (m) => ({ ...m, leafIndex: 2 }), ReceiptFailure.LEAF_MISMATCH],
    [
      'another event than ours',
      (m) => ({ ...m, envelope: { ...m.envelope, data: { patientId: 'p9', versionId: '1' } } }),
      ReceiptFailure.LEAF_MISMATCH,
    ],
    [
      'leaf bytes altered where the comparison does not look (proof attributes)',
      (m) => ({ ...m, leafData: flipBase64(m.leafData, 40) }),
      ReceiptFailure.BAD_PROOF,
    ],
  ])('refuses %s', (_name, tamper, code, keys = pinned) => {
    const verdict = verifyReceipt(tamper(fixture()), keys, ORIGIN);
    expect(verdict).toMatchObject({ ok: false, code });
  });

  it('refuses a checkpoint of another log origin', () => {
    expect(verifyReceipt(fixture(), pinned, 'medledger.other/ledger')).toMatchObject({
      ok: false,
      code: ReceiptFailure.BAD_CHECKPOINT,
    });
  });
});

describe('verifyBlockReceipts', () => {
  /** Event 3 of the fixture's block with the block's own checkpoint, as GET /v1/blocks/0/proofs gives it. */
  function blockFixture(): BlockReceiptsMaterial {
    const { block, checkpoint, eventId, envelope, leafIndex, leafData, proof } = fixture();
    return { block, checkpoint, leaves: [{ eventId, envelope, leafIndex, leafData, proof }] };
  }

  it('accepts a block with its own checkpoint and each leaf proven, once per block', () => {
    expect(verifyBlockReceipts(blockFixture(), pinned, ORIGIN)).toMatchObject({
      ok: true,
      checkpoint: { size: 5 },
      block: { height: 0, treeSize: 5 },
    });
  });

  test.each<[string, (m: BlockReceiptsMaterial) => BlockReceiptsMaterial, string, NoteVerifier[]?]>([
    [
      'the checkpoint signature flipped',
      (m) => ({
        ...m,
        checkpoint: m.checkpoint.replace(
          /— (\S+) (\S+)\n/,
          (_x, n: string, s: string) => `— ${n} ${flipBase64(s, 9)}\n`,
        ),
      }),
      ReceiptFailure.BAD_CHECKPOINT,
    ],
    [
      "a checkpoint that is not the block's (another size)",
      (m) => {
        const tree = new MemoryMerkleTree([leafHash(new Uint8Array([1]))]);
        return {
          ...m,
          checkpoint: signCheckpoint({ origin: ORIGIN, size: 1, root: tree.root(), extensions: [] }, [ledgerKey]),
        };
      },
      ReceiptFailure.BAD_CHECKPOINT,
    ],
    [
      'the block signature flipped',
      (m) => ({
        ...m,
        block: { ...(m.block as object), signature: flipBase64((m.block as { signature: string }).signature) },
      }),
      ReceiptFailure.BAD_BLOCK,
    ],
    [
      'a leaf at another index than it says',
      (m) => ({ ...m, leaves: m.leaves.map((l) => ({ ...l, leafIndex: 2 })) }),
      ReceiptFailure.LEAF_MISMATCH,
    ],
    [
      'a leaf outside the block',
      (m) => ({ ...m, leaves: m.leaves.map((l) => ({ ...l, leafIndex: 5 })) }),
      ReceiptFailure.BAD_BLOCK,
    ],
    [
      'a leaf holding another event',
      (m) => ({
        ...m,
        leaves: m.leaves.map((l) => ({ ...l, envelope: { ...l.envelope, data: { patientId: 'p9', versionId: '1' } } })),
      }),
      ReceiptFailure.LEAF_MISMATCH,
    ],
    [
      'a proof element flipped',
      (m) => ({
        ...m,
        leaves: m.leaves.map((l) => ({ ...l, proof: [flipBase64(l.proof[0] ?? ''), ...l.proof.slice(1)] })),
      }),
      ReceiptFailure.BAD_PROOF,
    ],
  ])('refuses %s', (_name, tamper, code, keys = pinned) => {
    expect(verifyBlockReceipts(tamper(blockFixture()), keys, ORIGIN)).toMatchObject({ ok: false, code });
  });

  it('names the event whose leaf does not verify', () => {
    const material = blockFixture();
    const verdict = verifyBlockReceipts(
      { ...material, leaves: material.leaves.map((l) => ({ ...l, leafData: flipBase64(l.leafData, 40) })) },
      pinned,
      ORIGIN,
    );
    expect(verdict).toMatchObject({ ok: false, eventId: material.leaves[0]?.eventId });
  });
});

import { canonicalBytes, generateEd25519KeyPair, leafData, OriginSigner } from '@medledger/ledger-core';
import { compareDuplicate, compareWithLeaf, DuplicateFailure } from './duplicates';

const records = new OriginSigner('records', generateEd25519KeyPair().seed);
const supply = new OriginSigner('supply', generateEd25519KeyPair().seed);
const envelope = (source: string, data: Record<string, unknown>) => ({
  specversion: '1.0',
  id: '00000000-0000-4000-8000-000000000001',
  source,
  type: 'x.Happened',
  time: '2026-12-02T10:00:00.000Z',
  datacontenttype: 'application/json',
  data,
});
const bytes = (event: object) => canonicalBytes(event);

const first = records.signBatch([envelope('/medledger/records', { n: 1 })])[0]!;
// The same event signed again in another producer batch (an outbox relay resending a round): other proof.
const resigned = records.signBatch([envelope('/medledger/other', {}), envelope('/medledger/records', { n: 1 })])[1]!;
const changed = records.signBatch([envelope('/medledger/records', { n: 2 })])[0]!;
const elsewhere = supply.signBatch([envelope('/medledger/supply', { n: 1 })])[0]!;

describe('an event under an id that came before', () => {
  it.each([
    ['the very bytes again (a Kafka redelivery)', first, { same: true }],
    ['the same content in another producer batch', resigned, { same: true }],
    ['other content', changed, { same: false, code: DuplicateFailure.OTHER_CONTENT }],
    ['another source', elsewhere, { same: false, code: DuplicateFailure.OTHER_SOURCE }],
  ])('is %s', (_, again, expected) => {
    expect(resigned.batchnote).not.toBe(first.batchnote);
    expect(compareDuplicate(bytes(first), bytes(again))).toMatchObject(expected);
    // Against the log's copy, inside its leaf.
    const leaf = leafData({ index: 7, receivedAt: '2026-12-02T10:00:01.000Z', topic: 't', event: first });
    expect(compareWithLeaf(leaf, bytes(again))).toMatchObject(expected);
  });

  it('names the id in the reason', () => {
    expect(compareDuplicate(bytes(first), bytes(changed))).toMatchObject({
      reason: expect.stringContaining(first.id) as string,
    });
  });
});

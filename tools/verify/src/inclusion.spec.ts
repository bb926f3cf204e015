import { containing } from '../test/matchers';
import { toBase64 } from '@medledger/ledger-core';
import { at, buildLedger, keysOf, signer } from '../test/test-ledger';
import { VerifyCode } from './codes';
import { verifyEventInclusion, type InclusionInput } from './inclusion';

describe('verifyEventInclusion', () => {
  const ledger = buildLedger();
  const proof = async (index: number, size: number) => ledger.tree.inclusionProof(index, size).map(toBase64);
  const record = (index: number) => ({ ...at(ledger.leaves, index), blockHeight: 3, topic: 'medledger.supply.events' });
  const check = (overrides: Partial<InclusionInput> = {}) =>
    verifyEventInclusion({
      keys: keysOf(signer()),
      eventId: 'evt-12',
      record: record(12),
      checkpoint: ledger.checkpoint,
      proof,
      ...overrides,
    });

  it('proves an event against the latest signed checkpoint', async () => {
    expect(await check()).toEqual({
      ok: true,
      eventId: 'evt-12',
      index: 12,
      blockHeight: 3,
      treeSize: 21,
      root: toBase64(ledger.tree.root()),
      signedBy: [`test.local/ledger+${signer().keyId}`],
    });
  });

  it('reports an event the ledger does not have', async () => {
    expect(await check({ record: undefined })).toMatchObject({ code: VerifyCode.EVENT_NOT_FOUND });
  });

  it('refuses a leaf whose bytes were changed', async () => {
    const data = Buffer.from(at(ledger.leaves, 12).leafData, 'base64');
    data[data.indexOf('SN12') + 1] = 'M'.charCodeAt(0);
    const tampered = { ...record(12), leafData: data.toString('base64') };
    expect(await check({ record: tampered })).toMatchObject({ code: VerifyCode.INCLUSION_FAILED, leafIndex: 12 });
  });

  it('refuses an answer about another event', async () => {
    expect(await check({ record: record(13) })).toMatchObject({ code: VerifyCode.EVENT_ID_MISMATCH });
  });

  it('refuses a proof for another leaf', async () => {
    expect(await check({ proof: async (_, size) => proof(13, size) })).toMatchObject({
      code: VerifyCode.INCLUSION_FAILED,
    });
  });

  it('refuses a checkpoint no trusted key signed', async () => {
    expect(await check({ keys: keysOf(signer(3)) })).toMatchObject({ code: VerifyCode.CHECKPOINT_INVALID });
  });

  it('refuses an event beyond the checkpoint', async () => {
    expect(await check({ checkpoint: at(ledger.blocks, 1).checkpoint })).toMatchObject({
      code: VerifyCode.INCLUSION_FAILED,
      message: containing("beyond the checkpoint's tree size 8"),
    });
  });
});

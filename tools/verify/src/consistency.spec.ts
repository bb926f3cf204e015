import { leafHash, MemoryMerkleTree, signCheckpoint, toBase64, type NoteSigner } from '@medledger/ledger-core';
import { keysOf, ORIGIN, signer } from '../test/test-ledger';
import { VerifyCode } from './codes';
import { checkConsistency, type ConsistencyInput } from './consistency';

/** A log whose leaves are `prefix-0`, `prefix-1`, …; two prefixes are two different histories. */
function history(size: number, prefix = 'leaf') {
  const tree = new MemoryMerkleTree(Array.from({ length: size }, (_, i) => leafHash(Buffer.from(`${prefix}-${i}`))));
  return {
    tree,
    note: (at = size, key: NoteSigner = signer(), origin = ORIGIN) =>
      signCheckpoint({ origin, size: at, root: tree.root(at), extensions: [] }, [key]),
    proof: async (from: number, to: number) => tree.consistencyProof(from, to).map(toBase64),
  };
}

function check(overrides: Partial<ConsistencyInput> & Pick<ConsistencyInput, 'latest'>) {
  return checkConsistency({
    keys: keysOf(signer()),
    previous: undefined,
    proof: async () => {
      throw new Error('no proof expected');
    },
    ...overrides,
  });
}

describe('checkConsistency', () => {
  const log = history(40);

  it('trusts the first checkpoint it sees (TOFU) when it is signed by a trusted key', async () => {
    expect(await check({ latest: log.note(10) })).toMatchObject({
      ok: true,
      kind: 'first-use',
      latest: { size: 10, origin: ORIGIN },
    });
  });

  it('accepts a tree that provably extends the recorded one', async () => {
    for (const [from, to] of [
      [1, 40],
      [10, 17],
      [16, 32],
      [39, 40],
    ] as const) {
      expect(await check({ previous: log.note(from), latest: log.note(to), proof: log.proof })).toMatchObject({
        ok: true,
        kind: 'extended',
        previous: { size: from },
        latest: { size: to },
      });
    }
  });

  it('accepts the same tree again without asking for a proof', async () => {
    expect(await check({ previous: log.note(25), latest: log.note(25) })).toMatchObject({
      ok: true,
      kind: 'unchanged',
    });
  });

  it('detects rewritten history: a signed tree that does not contain the recorded one', async () => {
    const rewritten = history(40, 'forged');
    expect(await check({ previous: log.note(20), latest: rewritten.note(40), proof: rewritten.proof })).toMatchObject({
      ok: false,
      code: VerifyCode.CONSISTENCY_FAILED,
      splitView: true,
      previous: { size: 20 },
      latest: { size: 40 },
    });
  });

  it('detects a tree that shrank', async () => {
    expect(await check({ previous: log.note(30), latest: log.note(20) })).toMatchObject({
      ok: false,
      code: VerifyCode.TREE_SHRANK,
      splitView: true,
    });
  });

  it('detects the same size with a different root', async () => {
    expect(await check({ previous: history(20, 'other').note(), latest: log.note(20) })).toMatchObject({
      ok: false,
      code: VerifyCode.ROOT_CHANGED,
      splitView: true,
    });
  });

  it('refuses a proof that does not lead to the new root', async () => {
    const proof = async (from: number, to: number) => {
      const hashes = await log.proof(from, to);
      return [toBase64(new Uint8Array(32)), ...hashes.slice(1)];
    };
    expect(await check({ previous: log.note(10), latest: log.note(30), proof })).toMatchObject({
      ok: false,
      code: VerifyCode.CONSISTENCY_FAILED,
      splitView: true,
    });
  });

  it.each([
    ['a value that is not a hash', async (from: number, to: number) => [...(await log.proof(from, to)), 42]],
    ['a hash too short', async (from: number, to: number) => ['AAAA', ...(await log.proof(from, to)).slice(1)]],
    [
      'one hash too many',
      async (from: number, to: number) => [...(await log.proof(from, to)), toBase64(new Uint8Array(32))],
    ],
    ['one hash too few', async (from: number, to: number) => (await log.proof(from, to)).slice(1)],
    ['no hash at all', async () => []],
  ])('calls a malformed proof (%s) unproven, not a split view: nothing signed contradicts', async (_, proof) => {
    expect(await check({ previous: log.note(10), latest: log.note(30), proof })).toMatchObject({
      ok: false,
      code: VerifyCode.CONSISTENCY_UNPROVEN,
      splitView: false,
    });
  });

  it('refuses a latest checkpoint no trusted key signed, without calling it a split view', async () => {
    expect(await check({ previous: log.note(10), latest: log.note(20, signer(66)) })).toMatchObject({
      ok: false,
      code: VerifyCode.CHECKPOINT_INVALID,
      splitView: false,
    });
  });

  it('refuses a checkpoint of another log', async () => {
    const elsewhere = signer(7, 'elsewhere/ledger');
    expect(
      await check({
        keys: keysOf(signer(), elsewhere),
        previous: log.note(10),
        latest: log.note(20, elsewhere, 'elsewhere/ledger'),
      }),
    ).toMatchObject({ ok: false, code: VerifyCode.ORIGIN_CHANGED, splitView: false });
  });

  it('refuses recorded state that is not a checkpoint note', async () => {
    expect(await check({ previous: 'hello\n', latest: log.note(20) })).toMatchObject({
      ok: false,
      code: VerifyCode.CHECKPOINT_INVALID,
      splitView: false,
    });
  });
});

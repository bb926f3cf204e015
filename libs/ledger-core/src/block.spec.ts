import {
  type BlockHeader,
  blockHash,
  GENESIS_PREVIOUS_HASH,
  headerSigningBytes,
  parseSignedBlockHeader,
  type SignedBlockHeader,
  signHeader,
  verifyChainLink,
  verifyHeader,
} from './block';
import { fromBase64, toBase64, toHex, utf8 } from './encoding';
import { leafHash, sha256 } from './hash';
import { canonicalize } from './jcs';
import { generateEd25519KeyPair } from './keys';
import { rootFromLeafHashes } from './merkle';
import { createSigner, parseSignerKey } from './note';

function ok<T>(result: { ok: true; value: T } | { ok: false; code: string; reason: string }): T {
  if (!result.ok) throw new Error(`${result.code}: ${result.reason}`);
  return result.value;
}

const signer = ok(parseSignerKey('PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz'));
const keys = new Map([[signer.keyId, signer.publicKey]]);
const leaves = Array.from({ length: 10 }, (_, i) => leafHash(utf8(`event ${i}`)));
const rootAt = (size: number): string => toBase64(rootFromLeafHashes(leaves.slice(0, size)));

const genesisHeader: BlockHeader = {
  height: 0,
  previousHash: GENESIS_PREVIOUS_HASH,
  firstLeafIndex: 0,
  leafCount: 3,
  treeSize: 3,
  root: rootAt(3),
  sealedAt: '2026-11-23T10:00:00.000Z',
  keyId: signer.keyId,
};

/** Seals the next block after `prev` with `count` more leaves. */
function next(prev: SignedBlockHeader, count: number, sealedAt: string): SignedBlockHeader {
  return signHeader(
    {
      height: prev.height + 1,
      previousHash: toBase64(blockHash(prev)),
      firstLeafIndex: prev.treeSize,
      leafCount: count,
      treeSize: prev.treeSize + count,
      root: rootAt(prev.treeSize + count),
      sealedAt,
      keyId: signer.keyId,
    },
    signer,
  );
}

describe('block headers', () => {
  const genesis = signHeader(genesisHeader, signer);

  it('the genesis previousHash is 32 zero bytes', () => {
    expect(GENESIS_PREVIOUS_HASH).toBe('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');
    expect(fromBase64(GENESIS_PREVIOUS_HASH)).toEqual(new Uint8Array(32));
  });

  it('signs the canonical JSON of the eight header fields, without the signature', () => {
    const expected =
      `{"firstLeafIndex":0,"height":0,"keyId":"c74f20a3","leafCount":3,"previousHash":"${GENESIS_PREVIOUS_HASH}",` +
      `"root":"${rootAt(3)}","sealedAt":"2026-11-23T10:00:00.000Z","treeSize":3}`;
    expect(new TextDecoder().decode(headerSigningBytes(genesis))).toBe(expected);
    expect(new TextDecoder().decode(headerSigningBytes(genesisHeader))).toBe(expected);
  });

  it('blockHash is SHA-256 of the canonical JSON including the signature', () => {
    expect(toHex(blockHash(genesis))).toBe(toHex(sha256(utf8(canonicalize(genesis)))));
    const resigned = { ...genesis, signature: toBase64(new Uint8Array(64)) };
    expect(toHex(blockHash(resigned))).not.toBe(toHex(blockHash(genesis)));
  });

  it('verifies a signed header, with a map or a lookup function', () => {
    expect(verifyHeader(genesis, keys)).toEqual({ ok: true });
    expect(verifyHeader(genesis, (id) => keys.get(id))).toEqual({ ok: true });
    expect(verifyHeader(JSON.parse(JSON.stringify(genesis)), keys)).toEqual({ ok: true });
  });

  it.each<[keyof BlockHeader, unknown]>([
    ['root', rootAt(4)],
    ['sealedAt', '2026-11-23T10:00:00.001Z'],
    ['leafCount', 2],
  ])('detects a change to %s', (field, value) => {
    const changed = { ...genesis, [field]: value };
    if (field === 'leafCount') Object.assign(changed, { treeSize: 2 });
    expect(verifyHeader(changed, keys)).toMatchObject({ ok: false, code: 'LEDGER.BLOCK_BAD_SIGNATURE' });
  });

  it('detects a changed signature and an unknown or wrong key', () => {
    const signature = fromBase64(genesis.signature) as Uint8Array;
    signature[10] = (signature[10] as number) ^ 1;
    expect(verifyHeader({ ...genesis, signature: toBase64(signature) }, keys)).toMatchObject({
      code: 'LEDGER.BLOCK_BAD_SIGNATURE',
    });
    expect(verifyHeader(genesis, new Map())).toMatchObject({ code: 'LEDGER.BLOCK_UNKNOWN_KEY' });
    const other = generateEd25519KeyPair().publicKey;
    expect(verifyHeader(genesis, new Map([[signer.keyId, other]]))).toMatchObject({
      code: 'LEDGER.BLOCK_BAD_SIGNATURE',
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an extra field', { extra: 1 }, 'LEDGER.BLOCK_MALFORMED'],
    ['a missing field', { keyId: undefined }, 'LEDGER.BLOCK_MALFORMED'],
    ['a fractional height', { height: 0.5 }, 'LEDGER.BLOCK_MALFORMED'],
    ['a string height', { height: '0' }, 'LEDGER.BLOCK_MALFORMED'],
    ['treeSize ≠ firstLeafIndex + leafCount', { treeSize: 4 }, 'LEDGER.BLOCK_MALFORMED'],
    ['an empty block', { leafCount: 0, treeSize: 0 }, 'LEDGER.BLOCK_MALFORMED'],
    ['a 31-byte root', { root: toBase64(new Uint8Array(31)) }, 'LEDGER.BLOCK_MALFORMED'],
    ['a non-UTC time', { sealedAt: '2026-11-23T10:00:00.000+01:00' }, 'LEDGER.BLOCK_MALFORMED'],
    ['a time without milliseconds', { sealedAt: '2026-11-23T10:00:00Z' }, 'LEDGER.BLOCK_MALFORMED'],
    ['an impossible date', { sealedAt: '2026-02-30T10:00:00.000Z' }, 'LEDGER.BLOCK_MALFORMED'],
    ['an upper-case key id', { keyId: 'C74F20A3' }, 'LEDGER.BLOCK_MALFORMED'],
    ['a short signature', { signature: toBase64(new Uint8Array(63)) }, 'LEDGER.BLOCK_MALFORMED'],
    [
      'genesis with another previousHash',
      { previousHash: toBase64(new Uint8Array(32).fill(1)) },
      'LEDGER.BLOCK_BAD_GENESIS',
    ],
    ['genesis not starting at leaf 0', { firstLeafIndex: 1, treeSize: 4 }, 'LEDGER.BLOCK_BAD_GENESIS'],
  ])('rejects %s before checking the signature', (_name, change, code) => {
    expect(parseSignedBlockHeader({ ...genesis, ...change })).toMatchObject({ ok: false, code });
    expect(verifyHeader({ ...genesis, ...change }, keys)).toMatchObject({ ok: false, code });
  });

  it('never throws on crafted input', () => {
    for (const value of [undefined, null, 1, 'x', [], {}, { ...genesis, signature: 'not base64' }]) {
      expect(() => verifyHeader(value, keys)).not.toThrow();
      expect(verifyHeader(value, keys).ok).toBe(false);
      expect(() => verifyChainLink(value, genesis)).not.toThrow();
    }
  });

  it('signHeader refuses a malformed header or a key id that is not the signer’s', () => {
    expect(() => signHeader({ ...genesisHeader, treeSize: 9 }, signer)).toThrow('LEDGER.INVALID_BLOCK_HEADER');
    const stranger = createSigner('stranger', generateEd25519KeyPair().seed);
    expect(() => signHeader(genesisHeader, stranger)).toThrow('LEDGER.INVALID_BLOCK_HEADER');
  });

  it('signHeader drops fields that are not part of the header', () => {
    const signed = signHeader({ ...genesisHeader, extra: 'x' } as BlockHeader, signer);
    expect(Object.keys(signed).sort()).toEqual([
      'firstLeafIndex',
      'height',
      'keyId',
      'leafCount',
      'previousHash',
      'root',
      'sealedAt',
      'signature',
      'treeSize',
    ]);
  });
});

describe('chain links', () => {
  const b0 = signHeader(genesisHeader, signer);
  const b1 = next(b0, 4, '2026-11-23T10:00:01.000Z');
  const b2 = next(b1, 3, '2026-11-23T10:00:01.000Z');

  it('accepts a chain of blocks', () => {
    expect(verifyChainLink(b0, b1)).toEqual({ ok: true });
    expect(verifyChainLink(b1, b2)).toEqual({ ok: true });
    expect(b2.treeSize).toBe(10);
    expect(b2.root).toBe(toBase64(rootFromLeafHashes(leaves)));
  });

  const resign = (header: SignedBlockHeader, change: Partial<BlockHeader>): SignedBlockHeader =>
    signHeader({ ...header, ...change }, signer);

  it.each<[string, () => [SignedBlockHeader, SignedBlockHeader], string]>([
    ['a skipped height', () => [b0, resign(b1, { height: 2 })], 'LEDGER.CHAIN_HEIGHT_GAP'],
    ['a repeated height', () => [b1, resign(b2, { height: 1 })], 'LEDGER.CHAIN_HEIGHT_GAP'],
    ['blocks out of order', () => [b1, b0], 'LEDGER.CHAIN_HEIGHT_GAP'],
    [
      'a previousHash of another block',
      () => [b1, resign(b2, { previousHash: toBase64(blockHash(b0)) })],
      'LEDGER.CHAIN_PREVIOUS_HASH_MISMATCH',
    ],
    [
      'a previous block whose signature was replaced',
      () => [{ ...b0, signature: toBase64(new Uint8Array(64)) }, b1],
      'LEDGER.CHAIN_PREVIOUS_HASH_MISMATCH',
    ],
    [
      'a gap in leaf indexes',
      () => [b0, resign(b1, { firstLeafIndex: 4, treeSize: 8 })],
      'LEDGER.CHAIN_LEAF_INDEX_GAP',
    ],
    ['overlapping leaves', () => [b0, resign(b1, { firstLeafIndex: 2, treeSize: 6 })], 'LEDGER.CHAIN_LEAF_INDEX_GAP'],
    [
      'time going backwards',
      () => [b0, resign(b1, { sealedAt: '2026-11-23T09:59:59.999Z' })],
      'LEDGER.CHAIN_TIME_REVERSED',
    ],
    ['treeSize not firstLeafIndex + leafCount', () => [b0, { ...b1, treeSize: 8 }], 'LEDGER.BLOCK_MALFORMED'],
  ])('rejects %s', (_name, pair, code) => {
    const [prev, nextBlock] = pair();
    expect(verifyChainLink(prev, nextBlock)).toMatchObject({ ok: false, code });
  });
});

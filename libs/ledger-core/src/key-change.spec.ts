import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BlockFailure,
  blockHash,
  GENESIS_PREVIOUS_HASH,
  headerSigningBytes,
  parseSignedBlockHeader,
  type SignedBlockHeader,
  signHeader,
  verifyChainLink,
  verifyHeader,
} from './block';
import { toBase64, utf8 } from './encoding';
import { leafHash } from './hash';
import { canonicalize } from './jcs';
import { formatKeyChange, parseKeyChange, signKeyChange, verifyKeyChange, type KeyChange } from './key-change';
import { rootFromLeafHashes } from './merkle';
import { createSigner, signNote, verifierKey, type NoteSigner } from './note';

const ORIGIN = 'medledger.local/ledger';
const oldKey = createSigner(ORIGIN, new Uint8Array(32).fill(7));
const newKey = createSigner(ORIGIN, new Uint8Array(32).fill(8));
const stranger = createSigner(ORIGIN, new Uint8Array(32).fill(9));
const leaves = Array.from({ length: 10 }, (_, i) => leafHash(utf8(`event ${i}`)));
const rootAt = (size: number): string => toBase64(rootFromLeafHashes(leaves.slice(0, size)));

function block(
  height: number,
  previous: SignedBlockHeader | undefined,
  key: NoteSigner,
  keyChange?: string,
): SignedBlockHeader {
  const firstLeafIndex = previous?.treeSize ?? 0;
  return signHeader(
    {
      height,
      previousHash: previous ? toBase64(blockHash(previous)) : GENESIS_PREVIOUS_HASH,
      firstLeafIndex,
      leafCount: 2,
      treeSize: firstLeafIndex + 2,
      root: rootAt(firstLeafIndex + 2),
      sealedAt: `2026-11-23T12:00:0${height}.000Z`,
      keyId: key.keyId,
      ...(keyChange === undefined ? {} : { keyChange }),
    },
    key,
  );
}

const b0 = block(0, undefined, oldKey);
const b1 = block(1, b0, oldKey);
const change: KeyChange = {
  origin: ORIGIN,
  height: 2,
  previousHash: toBase64(blockHash(b1)),
  newKey: verifierKey(newKey.name, newKey.publicKey),
};
const record = signKeyChange(change, oldKey);
const b2 = block(2, b1, newKey, record);
const b3 = block(3, b2, newKey);

describe('key change records', () => {
  it('formats the four lines and signs them with the previous key alone (known answer, as in the format doc §5.1)', () => {
    expect(formatKeyChange(change)).toBe(
      `medledger.local/ledger key change\nheight 2\nprevious ${change.previousHash}\nkey ${change.newKey}\n`,
    );
    const signatureLines = record.split('\n\n')[1]?.trimEnd().split('\n') ?? [];
    expect(signatureLines).toHaveLength(1);
    expect(signatureLines[0]).toMatch(/^— medledger\.local\/ledger /);
    // Ed25519 is deterministic: the worked example in the format document is this very record.
    const doc = readFileSync(join(__dirname, '../../../docs/design/ledger-format.md'), 'utf8');
    expect(doc).toContain(record);
    expect(doc).toContain(toBase64(blockHash(b2)));
  });

  it('parses only its own text: a checkpoint, extra lines or a stray space are not a record', () => {
    expect(parseKeyChange(formatKeyChange(change))).toMatchObject({ ok: true, value: change });
    const text = formatKeyChange(change);
    const bad = [
      `${ORIGIN}\n2\n${change.previousHash}\n`,
      text + 'extra\n',
      text.slice(0, -1),
      text.replace('height 2', 'height 02'),
      text.replace(' key change', ' key-change'),
      text.replace('\nkey ', '\nkey  '),
      text.replace('previous ', 'previous  '),
    ];
    for (const candidate of bad) expect(parseKeyChange(candidate)).toMatchObject({ ok: false });
  });

  it('is part of the signed header and of its hash; a header without one is unchanged', () => {
    expect(parseSignedBlockHeader(b2)).toEqual({ ok: true, value: b2 });
    expect(canonicalize(JSON.parse(Buffer.from(headerSigningBytes(b2)).toString()))).toContain('"keyChange":');
    expect(Buffer.from(headerSigningBytes(b1)).toString()).not.toContain('keyChange');
    const keys = new Map([[newKey.keyId, newKey.publicKey]]);
    expect(verifyHeader(b2, keys)).toEqual({ ok: true });
    // Dropping or swapping the record breaks the new key's own signature over the header.
    const { keyChange: _dropped, ...without } = b2;
    expect(verifyHeader(without, keys)).toMatchObject({ ok: false, code: BlockFailure.BAD_SIGNATURE });
    expect(verifyHeader({ ...b2, keyChange: signKeyChange({ ...change, height: 3 }, oldKey) }, keys)).toMatchObject({
      ok: false,
      code: BlockFailure.BAD_SIGNATURE,
    });
    expect(verifyChainLink(b2, b3)).toEqual({ ok: true });
  });

  it('refuses a record in block 0, a record that is not a string, and an oversized one', () => {
    const genesis = { ...b0, keyChange: record };
    expect(parseSignedBlockHeader(genesis)).toMatchObject({ ok: false, code: BlockFailure.MALFORMED });
    expect(parseSignedBlockHeader({ ...b2, keyChange: null })).toMatchObject({
      ok: false,
      code: BlockFailure.MALFORMED,
    });
    expect(parseSignedBlockHeader({ ...b2, keyChange: 'x'.repeat(2_049) })).toMatchObject({
      ok: false,
      code: BlockFailure.MALFORMED,
    });
  });

  it('follows the same key without a record, and another key with a valid one', () => {
    expect(verifyKeyChange(b0, b1, oldKey, oldKey, ORIGIN)).toEqual({ ok: true });
    expect(verifyKeyChange(b1, b2, oldKey, newKey, ORIGIN)).toEqual({ ok: true });
    expect(verifyKeyChange(b2, b3, newKey, newKey, ORIGIN)).toEqual({ ok: true });
  });

  it('refuses another key without a record, naming both keys', () => {
    const forged = block(2, b1, stranger);
    const verdict = verifyKeyChange(b1, forged, oldKey, stranger, ORIGIN);
    expect(verdict).toMatchObject({ ok: false, code: BlockFailure.KEY_CHANGE_MISSING });
    expect(!verdict.ok && verdict.reason).toContain(`block 2 is signed by key ${stranger.keyId}`);
    expect(!verdict.ok && verdict.reason).toContain(`block 1 by key ${oldKey.keyId}`);
  });

  it.each<[string, () => SignedBlockHeader, NoteSigner]>([
    [
      'a tampered record (the height changed after signing)',
      () => {
        const [text, signatures] = record.split('\n\n') as [string, string];
        return block(2, b1, newKey, `${text.replace('height 2', 'height 3')}\n\n${signatures}`);
      },
      newKey,
    ],
    [
      'a record signed by the new key itself, not the previous one',
      () => block(2, b1, newKey, signKeyChange(change, newKey)),
      newKey,
    ],
    ['a record signed by a third key', () => block(2, b1, newKey, signKeyChange(change, stranger)), newKey],
    [
      'a record replayed at another height',
      () => {
        const b2same = block(2, b1, oldKey);
        return block(3, b2same, newKey, record);
      },
      newKey,
    ],
    [
      'a record for another previous block (another branch)',
      () => block(2, b1, newKey, signKeyChange({ ...change, previousHash: toBase64(blockHash(b0)) }, oldKey)),
      newKey,
    ],
    [
      'a record naming another key than the one that signs',
      () => block(2, b1, stranger, signKeyChange(change, oldKey)),
      stranger,
    ],
    [
      'a record of another log',
      () => block(2, b1, newKey, signKeyChange({ ...change, origin: 'other.example/ledger' }, oldKey)),
      newKey,
    ],
    ['a record in a block whose key did not change', () => block(2, b1, oldKey, signKeyChange(change, oldKey)), oldKey],
    ['a note that is not a record', () => block(2, b1, newKey, signNote('hello\n', [oldKey])), newKey],
  ])('refuses %s', (_, make, key) => {
    const next = make();
    const prev = next.height === 3 ? block(2, b1, oldKey) : b1;
    expect(verifyKeyChange(prev, next, oldKey, key, ORIGIN)).toMatchObject({
      ok: false,
      code: BlockFailure.KEY_CHANGE_INVALID,
    });
  });
});

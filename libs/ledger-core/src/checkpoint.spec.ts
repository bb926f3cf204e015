import { fromHex, toBase64, toHex, utf8 } from './encoding';
import { formatCheckpoint, parseCheckpoint, signCheckpoint, verifyCheckpoint } from './checkpoint';
import { leafHash } from './hash';
import { generateEd25519KeyPair } from './keys';
import { rootFromLeafHashes } from './merkle';
import { createSigner, parseSignerKey, parseVerifierKey, signNote } from './note';

function ok<T>(result: { ok: true; value: T } | { ok: false; code: string; reason: string }): T {
  if (!result.ok) throw new Error(`${result.code}: ${result.reason}`);
  return result.value;
}

// golang.org/x/mod sumdb/tlog/note_test.go (TestFormatTree, TestParseTree): a tree head in the checkpoint
// layout, with the root RecordHash("hello world") = SHA-256(0x00 || "hello world").
const GO_TREE = 'go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n';

// The example of C2SP tlog-checkpoint.
const C2SP_EXAMPLE =
  'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n' +
  '\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n';

const peterSigner = ok(
  parseSignerKey('PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz'),
);
const peter = ok(parseVerifierKey('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'));

describe('checkpoint body (C2SP tlog-checkpoint)', () => {
  it('formats the Go tree head byte for byte', () => {
    const root = leafHash(utf8('hello world'));
    expect(formatCheckpoint({ origin: 'go.sum database tree', size: 123456789012, root, extensions: [] })).toBe(
      GO_TREE,
    );
  });

  it('parses the Go tree head', () => {
    const checkpoint = ok(parseCheckpoint(GO_TREE));
    expect(checkpoint.origin).toBe('go.sum database tree');
    expect(checkpoint.size).toBe(123456789012);
    expect(toHex(checkpoint.root)).toBe(toHex(leafHash(utf8('hello world'))));
    expect(checkpoint.extensions).toEqual([]);
  });

  it('keeps extension lines and formats them back', () => {
    const text = `${GO_TREE}ext one\n\u2014 ext two\n`;
    const checkpoint = ok(parseCheckpoint(text));
    expect(checkpoint.extensions).toEqual(['ext one', '\u2014 ext two']);
    expect(formatCheckpoint(checkpoint)).toBe(text);
  });

  it('accepts the empty tree with size 0', () => {
    const text = formatCheckpoint({ origin: 'log.example', size: 0, root: rootFromLeafHashes([]), extensions: [] });
    expect(text).toBe('log.example\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n');
    expect(ok(parseCheckpoint(text)).size).toBe(0);
  });

  it.each<[string, string]>([
    ['hex size (Go bad tree)', 'go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n'],
    [
      'bad root (Go bad tree)',
      'go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n',
    ],
    ['leading zero', 'o\n0123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n'],
    ['double zero', 'o\n00\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n'],
    ['sign', 'o\n+1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n'],
    ['negative', 'o\n-1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n'],
    ['exponent', 'o\n1e3\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n'],
    ['space', 'o\n 1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n'],
    ['31-byte root', `o\n1\n${toBase64(new Uint8Array(31))}\n`],
    ['33-byte root', `o\n1\n${toBase64(new Uint8Array(33))}\n`],
    ['unpadded root', 'o\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0\n'],
    ['empty origin', '\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n'],
    ['no final newline', 'o\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0='],
    ['two lines', 'o\n1\n'],
    ['empty extension line', 'o\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n\next\n'],
    ['control character', 'o\t\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n'],
    ['carriage return', 'o\r\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n'],
  ])('rejects %s', (_name, text) => {
    expect(parseCheckpoint(text)).toMatchObject({ ok: false, code: 'LEDGER.CHECKPOINT_MALFORMED' });
  });

  it('tells a size it cannot represent apart from a malformed one', () => {
    expect(parseCheckpoint(`o\n${2 ** 53 - 1}\n${toBase64(new Uint8Array(32))}\n`).ok).toBe(true);
    expect(parseCheckpoint(`o\n9007199254740992\n${toBase64(new Uint8Array(32))}\n`)).toMatchObject({
      code: 'LEDGER.CHECKPOINT_SIZE_TOO_LARGE',
    });
    expect(parseCheckpoint(`o\n18446744073709551615\n${toBase64(new Uint8Array(32))}\n`)).toMatchObject({
      code: 'LEDGER.CHECKPOINT_SIZE_TOO_LARGE',
    });
  });

  it('refuses to format what it could not parse', () => {
    const root = new Uint8Array(32);
    expect(() => formatCheckpoint({ origin: '', size: 1, root, extensions: [] })).toThrow('LEDGER.INVALID_CHECKPOINT');
    expect(() => formatCheckpoint({ origin: 'a\nb', size: 1, root, extensions: [] })).toThrow(
      'LEDGER.INVALID_CHECKPOINT',
    );
    expect(() => formatCheckpoint({ origin: 'o', size: -1, root, extensions: [] })).toThrow(
      'LEDGER.INVALID_CHECKPOINT',
    );
    expect(() => formatCheckpoint({ origin: 'o', size: 1, root: root.subarray(1), extensions: [] })).toThrow(
      'LEDGER.INVALID_CHECKPOINT',
    );
    expect(() => formatCheckpoint({ origin: 'o', size: 1, root, extensions: [''] })).toThrow(
      'LEDGER.INVALID_CHECKPOINT',
    );
  });

  it('parses the C2SP example body (its key is not public, so it cannot be verified)', () => {
    const body = C2SP_EXAMPLE.slice(0, C2SP_EXAMPLE.indexOf('\n\n') + 1);
    const checkpoint = ok(parseCheckpoint(body));
    expect(checkpoint).toMatchObject({ origin: 'example.com/behind-the-sofa', size: 20852163 });
    expect(verifyCheckpoint(C2SP_EXAMPLE, [peter])).toMatchObject({ code: 'LEDGER.NOTE_UNVERIFIED' });
  });
});

describe('signed checkpoints', () => {
  const root = rootFromLeafHashes(
    ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) =>
      leafHash(fromHex(h) as Uint8Array),
    ),
  );
  // Regression vector (not external): the 8-leaf reference tree's root signed with the golang/mod test key.
  // Ed25519 is deterministic, so this string is stable; a change means the format or signing input changed.
  const SIGNED =
    'PeterNeumann\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n' +
    '\u2014 PeterNeumann x08gozdSgLMzAnw63LH1RGViJhUfW60EUGKY7Kmr004fQNOSqfrcd1hIk3BCtdcLWIqvGtX67sL24VN+44uTlxMnbAA=\n';

  it('signs deterministically and verifies', () => {
    expect(signCheckpoint({ origin: 'PeterNeumann', size: 8, root, extensions: [] }, [peterSigner])).toBe(SIGNED);
    const result = verifyCheckpoint(SIGNED, [peter], 'PeterNeumann');
    expect(result.ok && result.checkpoint.size).toBe(8);
    expect(result.ok && toHex(result.checkpoint.root)).toBe(toHex(root));
  });

  it('detects tampering with size, root or origin', () => {
    expect(verifyCheckpoint(SIGNED.replace('\n8\n', '\n9\n'), [peter])).toMatchObject({
      code: 'LEDGER.NOTE_BAD_SIGNATURE',
    });
    expect(verifyCheckpoint(SIGNED.replace('XcnaeacG', 'XcnaeacH'), [peter])).toMatchObject({
      code: 'LEDGER.NOTE_BAD_SIGNATURE',
    });
    expect(verifyCheckpoint(SIGNED, [peter], 'another.example/log')).toMatchObject({
      code: 'LEDGER.CHECKPOINT_ORIGIN_MISMATCH',
    });
    const stranger = createSigner('PeterNeumann', generateEd25519KeyPair().seed);
    expect(verifyCheckpoint(SIGNED, [stranger])).toMatchObject({ code: 'LEDGER.NOTE_UNVERIFIED' });
  });

  it('rejects a correctly signed note whose text is not a checkpoint', () => {
    const signed = signNote(GO_TREE.replace('123456789012', '0123'), [peterSigner]);
    expect(verifyCheckpoint(signed, [peter])).toMatchObject({ code: 'LEDGER.CHECKPOINT_MALFORMED' });
  });
});

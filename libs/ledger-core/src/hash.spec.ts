import { fromHex, toHex, utf8 } from './encoding';
import { copyHash, EMPTY_ROOT, emptyRootHash, leafHash, nodeHash, sha256 } from './hash';

// Known answers from transparency-dev/merkle rfc6962/rfc6962_test.go (TestRFC6962Hasher).
describe('RFC 6962 hashing (RFC 6962 §2.1)', () => {
  it('the empty tree hashes to SHA-256("")', () => {
    expect(toHex(EMPTY_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(toHex(emptyRootHash())).toBe(toHex(EMPTY_ROOT));
  });

  it('an empty leaf is SHA-256(0x00), different from the empty tree', () => {
    expect(toHex(leafHash(new Uint8Array()))).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  });

  it('a leaf is SHA-256(0x00 || data)', () => {
    expect(toHex(leafHash(utf8('L123456')))).toBe('395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56');
  });

  it('a node is SHA-256(0x01 || left || right)', () => {
    expect(toHex(nodeHash(utf8('N123'), utf8('N456')))).toBe(
      'aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb',
    );
  });

  it('sha256 hashes the concatenation of its parts', () => {
    expect(toHex(sha256(utf8('ab'), utf8('c')))).toBe(toHex(sha256(utf8('abc'))));
  });

  it('a node over two leaves is not the leaf of their concatenation (second preimage)', () => {
    const [a, b] = [leafHash(utf8('Hello')), leafHash(utf8('World'))];
    const joined = new Uint8Array([...a, ...b]);
    expect(toHex(nodeHash(a, b))).not.toBe(toHex(leafHash(joined)));
    expect(toHex(nodeHash(a, b))).not.toBe(toHex(nodeHash(b, a)));
  });

  it('emptyRootHash returns a copy the caller may change', () => {
    const copy = emptyRootHash();
    copy[0] = 0;
    expect(emptyRootHash()).toEqual(fromHex('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'));
  });
});

describe('hashes kept in shared slabs', () => {
  it('each hash owns its 32 bytes: changing one changes no other, across slab boundaries', () => {
    const hashes = Array.from({ length: 600 }, (_, i) => leafHash(utf8(`leaf ${i}`)));
    const copies = hashes.map((hash) => toHex(hash));
    const first = hashes[0] as Uint8Array;
    first.fill(0xff);
    expect(hashes.slice(1).map((hash) => toHex(hash))).toEqual(copies.slice(1));
    expect(hashes.every((hash) => hash.length === 32 && !(hash instanceof Buffer))).toBe(true);
  });

  it('copyHash shares nothing with its input', () => {
    const hash = nodeHash(leafHash(utf8('a')), leafHash(utf8('b')));
    const copy = copyHash(hash);
    expect(toHex(copy)).toBe(toHex(hash));
    hash[0] = (hash[0] as number) ^ 1;
    expect(toHex(copy)).not.toBe(toHex(hash));
  });

  it('a large leaf is hashed whole (the scratch buffer grows)', () => {
    const data = new Uint8Array(100_000).fill(7);
    expect(toHex(leafHash(data))).toBe(toHex(sha256(new Uint8Array([0]), data)));
    expect(toHex(leafHash(utf8('x')))).toBe(toHex(sha256(new Uint8Array([0]), utf8('x'))));
  });
});

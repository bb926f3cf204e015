import { fromHex, toHex, utf8 } from './encoding';
import { EMPTY_ROOT, emptyRootHash, leafHash, nodeHash, sha256 } from './hash';

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

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { blockHash, GENESIS_PREVIOUS_HASH, signHeader, verifyChainLink } from './block';
import { signCheckpoint } from './checkpoint';
import { toBase64 } from './encoding';
import { leafHash } from './hash';
import { leafData } from './leaf';
import { rootFromLeafHashes } from './merkle';
import { createSigner, verifierKey } from './note';

/**
 * The worked example of docs/design/ledger-format.md §6, recomputed byte for byte. Every value is asserted
 * here and must appear verbatim in the document, so the specification and the code cannot drift apart.
 */
const doc = readFileSync(join(__dirname, '../../../docs/design/ledger-format.md'), 'utf8');
const signer = createSigner('medledger.local/ledger', new Uint8Array(32).fill(7));
const events = [0, 1, 2].map((n) => ({
  specversion: '1.0',
  id: `evt-${n}`,
  source: '/medledger/supply',
  type: 'supply.PackCommissioned',
  time: '2026-11-23T12:00:00.000Z',
  datacontenttype: 'application/json',
  data: { serial: `SN${n}` },
}));
const leaves = events.map((event, index) =>
  leafData({ index, receivedAt: `2026-11-23T12:00:00.00${index}Z`, topic: 'medledger.supply.events', event }),
);
const root = rootFromLeafHashes(leaves.map(leafHash));
const header = signHeader(
  {
    height: 0,
    previousHash: GENESIS_PREVIOUS_HASH,
    firstLeafIndex: 0,
    leafCount: 3,
    treeSize: 3,
    root: toBase64(root),
    sealedAt: '2026-11-23T12:00:01.000Z',
    keyId: signer.keyId,
  },
  signer,
);

describe('ledger format worked example (docs/design/ledger-format.md §6)', () => {
  it.each([
    [
      'verifier key',
      verifierKey(signer.name, signer.publicKey),
      'medledger.local/ledger+27c93b95+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs',
    ],
    [
      'leaf 0 data',
      Buffer.from(leaves[0] ?? []).toString('utf8'),
      '{"event":{"data":{"serial":"SN0"},"datacontenttype":"application/json","id":"evt-0","source":"/medledger/supply","specversion":"1.0","time":"2026-11-23T12:00:00.000Z","type":"supply.PackCommissioned"},"index":0,"receivedAt":"2026-11-23T12:00:00.000Z","topic":"medledger.supply.events"}',
    ],
    ['leaf hash 0', toBase64(leafHash(leaves[0] ?? new Uint8Array())), 'O90qVGix9Y9FhD133EA2WSVRcTgUj0KzAAKaKYjODgo='],
    ['leaf hash 1', toBase64(leafHash(leaves[1] ?? new Uint8Array())), 'Cc0QRULgSC9JS31fCN/bGF3AcyMeOvMg9IGchSsEyK8='],
    ['leaf hash 2', toBase64(leafHash(leaves[2] ?? new Uint8Array())), 'VFV3ahoLrNsbZgiFRfnX+ayKrBQvNssqiOQ80+pfaV8='],
    ['root', toBase64(root), 'zgY4U0QaKXRnGMXEunUkPPFkGjvFVgOAA6uTc8VAFug='],
    [
      'header signature',
      header.signature,
      'C738eRZybTOPgVa1sVOE+vbnNFmBmTxeFxrwipMNKfZYSSp7CiM53qpGnJHnDEG/rmP4+wTbLpDdnGI9B39HAw==',
    ],
    ['block hash', toBase64(blockHash(header)), 'LFbX5J2dNLmosXJoviFNywrPQ4YMPplsKm0K+7Uy6iA='],
    [
      'checkpoint',
      signCheckpoint({ origin: 'medledger.local/ledger', size: 3, root, extensions: [] }, [signer]),
      'medledger.local/ledger\n3\nzgY4U0QaKXRnGMXEunUkPPFkGjvFVgOAA6uTc8VAFug=\n\n— medledger.local/ledger J8k7lf7+xT98gzyRdaNDI5tZq24sun77UA7F27ZDx+cToOyTbW7Q1fwf00B5PCpdpqIuEBzug4JSjk4fnAEJYmS9awo=\n',
    ],
  ])('%s is computed and documented', (_what, computed, documented) => {
    expect(computed).toBe(documented);
    expect(doc).toContain(documented.trimEnd());
  });

  it('the genesis block starts the chain and a next block must link to it', () => {
    expect(header.previousHash).toBe('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');
    const next = signHeader(
      { ...header, height: 1, previousHash: toBase64(blockHash(header)), firstLeafIndex: 3, leafCount: 1, treeSize: 4 },
      signer,
    );
    expect(verifyChainLink(header, next)).toEqual({ ok: true });
    expect(verifyChainLink(header, { ...next, previousHash: GENESIS_PREVIOUS_HASH }).ok).toBe(false);
  });
});

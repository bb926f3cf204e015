import { verifierKey } from '@medledger/ledger-core';
import { signer } from '../test/test-ledger';
import { CliError, VerifyCode } from './codes';
import { keysFromListing, parseKeyring } from './keys';

describe('keys', () => {
  const [a, b] = [signer(1), signer(2)];
  const vkeyA = verifierKey(a.name, a.publicKey);
  const vkeyB = verifierKey(b.name, b.publicKey);

  it('reads a keyring: one verifier key per line, comments and blank lines ignored', () => {
    const keys = parseKeyring(`# ledger keys\n${vkeyA}\n\n  ${vkeyB}  \n`, 'ring');
    expect(keys.verifiers.map((key) => key.keyId)).toEqual([a.keyId, b.keyId]);
    expect(keys.publicKeyById.get(b.keyId)).toEqual(b.publicKey);
    expect(keys.source).toBe('keyring ring');
  });

  it.each([
    ['a malformed line, by line number', `${vkeyA}\nnot-a-key\n`, /ring:2: not a verifier key/],
    ['a key whose id does not match', `${vkeyA.replace(a.keyId, '00000000')}\n`, /ring:1: .*does not match/],
    ['an empty keyring', '# nothing\n', /no verifier key/],
  ])('refuses %s', (_, text, message) => {
    expect(() => parseKeyring(text, 'ring')).toThrow(CliError);
    expect(() => parseKeyring(text, 'ring')).toThrow(message);
  });

  it('reads GET /v1/keys and refuses a listing whose key ids disagree with their keys', () => {
    const listing = { keys: [{ keyId: a.keyId, verifierKey: vkeyA }] };
    expect(keysFromListing(listing, 'api')).toMatchObject({ ok: true, keys: { verifierKeys: [vkeyA] } });
    expect(keysFromListing({ keys: [{ keyId: b.keyId, verifierKey: vkeyA }] }, 'api')).toMatchObject({
      ok: false,
      code: VerifyCode.KEYS_INVALID,
    });
    expect(keysFromListing({ nope: true }, 'api')).toMatchObject({ ok: false, code: VerifyCode.KEYS_INVALID });
  });
});

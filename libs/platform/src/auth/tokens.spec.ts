import { randomBytes } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import { ed25519PublicKeyFromSeed } from '@medledger/ledger-core';
import { authKeyId, mintToken, TokenVerifier } from './tokens';

describe('TokenVerifier', () => {
  const seed = randomBytes(32);
  const verifier = new TokenVerifier([ed25519PublicKeyFromSeed(seed)], 'medledger.test', 'medledger-records');
  const mint = (expiresIn: string, sub = 'Practitioner/p1') =>
    mintToken(seed, { sub, role: 'practitioner', issuer: 'medledger.test', audience: 'medledger-records', expiresIn });

  afterEach(() => jest.useRealTimers());

  it('accepts a valid token again from memory, and refuses it once it has expired', async () => {
    jest.useFakeTimers({ now: new Date('2026-11-24T10:00:00Z'), doNotFake: ['nextTick', 'setImmediate'] });
    const token = await mint('60s');
    expect(await verifier.verify(token)).toMatchObject({ ok: true, actor: { reference: 'Practitioner/p1' } });
    expect(await verifier.verify(token)).toMatchObject({ ok: true });
    jest.setSystemTime(new Date('2026-11-24T10:02:00Z')); // past exp and the 30 s tolerance
    const expired = await verifier.verify(token);
    expect(expired.ok).toBe(false);
    expect(!expired.ok && expired.reason).toMatch(/exp/);
  });

  it('never remembers a refusal', async () => {
    const token = await mint('60s', 'nobody');
    expect(await verifier.verify(token)).toMatchObject({ ok: false });
    expect(await verifier.verify(`${token}x`)).toMatchObject({ ok: false });
  });

  it("refuses a role the service does not have (a trials sponsor's token at records)", async () => {
    const records = new TokenVerifier([ed25519PublicKeyFromSeed(seed)], 'medledger.test', 'medledger-records', [
      'patient',
      'practitioner',
    ]);
    const sponsor = await mintToken(seed, {
      sub: 'Organization/acme',
      role: 'sponsor',
      issuer: 'medledger.test',
      audience: 'medledger-records',
      expiresIn: '60s',
    });
    const verdict = await records.verify(sponsor);
    expect(!verdict.ok && verdict.reason).toMatch(/sponsor is not a role of this service/);
    expect(await records.verify(await mint('60s'))).toMatchObject({ ok: true });
  });

  /** A token signed by the trusted key with any header and claims (what a careless or hostile issuer mints). */
  async function signed(header: Record<string, unknown>, claims: Record<string, unknown>): Promise<string> {
    const publicKey = ed25519PublicKeyFromSeed(seed);
    const key = await importJWK(
      {
        kty: 'OKP',
        crv: 'Ed25519',
        x: Buffer.from(publicKey).toString('base64url'),
        d: Buffer.from(seed).toString('base64url'),
      },
      'EdDSA',
    );
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ role: 'practitioner', ...claims })
      .setProtectedHeader({ alg: 'EdDSA', kid: authKeyId(publicKey), ...header })
      .setSubject((claims['sub'] as string | undefined) ?? 'Practitioner/p1')
      .setIssuer('medledger.test')
      .setAudience('medledger-records')
      .setIssuedAt((claims['iat'] as number | undefined) ?? now)
      .setExpirationTime((claims['exp'] as number | undefined) ?? now + 600)
      .sign(key);
  }

  it.each<[string, Record<string, unknown>, RegExp | undefined]>([
    ['JWT', { typ: 'JWT' }, undefined],
    ['at+jwt (RFC 9068)', { typ: 'at+jwt' }, undefined],
    ['application/at+jwt', { typ: 'application/at+jwt' }, undefined],
    ['no typ', {}, /typ: absent/],
    ['an ID token type', { typ: 'id+jwt' }, /typ: id\+jwt/],
    ['a logout token type', { typ: 'logout+jwt' }, /typ: logout\+jwt/],
  ])('checks the header typ: %s', async (_name, header, refusal) => {
    const verdict = await verifier.verify(await signed(header, {}));
    if (refusal) expect(!verdict.ok && verdict.reason).toMatch(refusal);
    else expect(verdict).toMatchObject({ ok: true });
  });

  it('refuses a token that lives longer than the maximum lifetime, or has no iat', async () => {
    const now = Math.floor(Date.now() / 1000);
    const year = await signed({ typ: 'JWT' }, { iat: now, exp: now + 365 * 24 * 3600 });
    const refused = await verifier.verify(year);
    expect(!refused.ok && refused.reason).toMatch(/longer than/);
    const shift = await signed({ typ: 'JWT' }, { iat: now, exp: now + 8 * 3600 });
    expect(await verifier.verify(shift)).toMatchObject({ ok: true });
    const short = new TokenVerifier(
      [ed25519PublicKeyFromSeed(seed)],
      'medledger.test',
      'medledger-records',
      undefined,
      60,
    );
    expect(await short.verify(await mint('2m'))).toMatchObject({ ok: false });
    expect(await short.verify(await mint('60s'))).toMatchObject({ ok: true });
    // Minted long ago (iat), even if its exp is still ahead: older than the maximum.
    const old = await signed({ typ: 'JWT' }, { iat: now - 9 * 3600, exp: now + 600 });
    expect(await verifier.verify(old)).toMatchObject({ ok: false });
  });

  it.each<[string, string, boolean]>([
    ['Patient/p1', 'patient', true],
    ['Practitioner/p1', 'patient', false],
    ['Organization/acme', 'practitioner', false],
    ['RelatedPerson/r1', 'related-person', true],
    ['Patient/p1', 'related-person', false],
    ['Organization/ops', 'org-admin', true],
    ['Patient/p1', 'org-admin', false],
    ['Practitioner/a1', 'auditor', true],
    ['Device/d1', 'auditor', false],
  ])('a %s holding role %s is %s', async (sub, role, accepted) => {
    const verdict = await verifier.verify(await signed({ typ: 'JWT' }, { sub, role }));
    if (accepted) expect(verdict).toMatchObject({ ok: true, actor: { reference: sub, role } });
    else expect(!verdict.ok && verdict.reason).toMatch(/^sub: /);
  });
});

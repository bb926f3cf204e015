import { randomBytes } from 'node:crypto';
import { ed25519PublicKeyFromSeed } from '@medledger/ledger-core';
import { mintToken, TokenVerifier } from './tokens';

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
});

import { randomBytes } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import { ed25519PublicKeyFromSeed } from '@medledger/ledger-core';
import { authKeyId, mintToken } from '@medledger/platform';
import { startService, testAuth, uniqueSuffix, type RunningService } from '@medledger/testing';
import { RecordsModule } from '../src/app.module';

/** Bearer tokens on every records route; health, metrics, docs and the diagnostics probe stay open. */
describe('records authentication', () => {
  const auth = testAuth('records');
  let records: RunningService;
  const get = (path: string, headers: Record<string, string> = {}) => fetch(records.baseUrl + path, { headers });

  beforeAll(async () => {
    records = await startService('records', (config) =>
      RecordsModule.forRoot(config, {
        ...auth.env,
        EVENT_SIGNING_KEY: randomBytes(32).toString('base64'),
        RECORDS_MASTER_KEY: randomBytes(32).toString('base64'),
        PUBLIC_EVENTS_TOPIC: `test.${uniqueSuffix()}.records.events`,
      }),
    );
  });

  afterAll(async () => {
    await records?.close();
  });

  const unknownPatient = '/fhir/Patient/00000000-0000-4000-8000-000000000000';

  /** Signed by the trusted issuer key, with the header and lifetime given (what a careless issuer mints). */
  async function signed(header: Record<string, unknown>, sub: string, role: string, lifetimeSeconds = 600) {
    const publicKey = ed25519PublicKeyFromSeed(auth.seed);
    const key = await importJWK(
      {
        kty: 'OKP',
        crv: 'Ed25519',
        x: Buffer.from(publicKey).toString('base64url'),
        d: Buffer.from(auth.seed).toString('base64url'),
      },
      'EdDSA',
    );
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ role })
      .setProtectedHeader({ alg: 'EdDSA', kid: authKeyId(publicKey), ...header })
      .setSubject(sub)
      .setIssuer('medledger.test')
      .setAudience('medledger-records')
      .setIssuedAt(now)
      .setExpirationTime(now + lifetimeSeconds)
      .sign(key);
    return { authorization: `Bearer ${token}` };
  }

  it('lets a valid token through', async () => {
    const response = await get(unknownPatient, await auth.headers('Practitioner/p1', 'practitioner'));
    expect(response.status).toBe(404); // authenticated; the patient does not exist
    // The same through the hand-signed path the refusals below use: typ at+jwt, a shift's lifetime.
    const signedOk = await get(
      unknownPatient,
      await signed({ typ: 'at+jwt' }, 'Practitioner/p1', 'practitioner', 8 * 3600),
    );
    expect(signedOk.status).toBe(404);
  });

  test.each<[string, () => Promise<Record<string, string>>, string]>([
    ['no token', () => Promise.resolve({}), 'AUTH.MISSING_TOKEN'],
    ['a malformed header', () => Promise.resolve({ authorization: 'Basic dXNlcjpwdw==' }), 'AUTH.MISSING_TOKEN'],
    ['garbage', () => Promise.resolve({ authorization: 'Bearer not.a.jwt' }), 'AUTH.INVALID_TOKEN'],
    [
      'an expired token',
      async () => ({
        authorization: `Bearer ${await auth.token('Practitioner/p1', 'practitioner', { expiresIn: '-2m' })}`,
      }),
      'AUTH.INVALID_TOKEN',
    ],
    [
      'another audience',
      async () => ({
        authorization: `Bearer ${await auth.token('Practitioner/p1', 'practitioner', { audience: 'medledger-supply' })}`,
      }),
      'AUTH.INVALID_TOKEN',
    ],
    [
      'a key the service does not trust',
      async () => ({
        authorization: `Bearer ${await mintToken(randomBytes(32), {
          sub: 'Practitioner/p1',
          role: 'practitioner',
          issuer: 'medledger.test',
          audience: 'medledger-records',
          expiresIn: '5m',
        })}`,
      }),
      'AUTH.INVALID_TOKEN',
    ],
    ['a token without typ', () => signed({}, 'Practitioner/p1', 'practitioner'), 'AUTH.INVALID_TOKEN'],
    [
      'an ID token (typ id+jwt)',
      () => signed({ typ: 'id+jwt' }, 'Practitioner/p1', 'practitioner'),
      'AUTH.INVALID_TOKEN',
    ],
    [
      'a token that lives a year',
      () => signed({ typ: 'JWT' }, 'Practitioner/p1', 'practitioner', 365 * 24 * 3600),
      'AUTH.INVALID_TOKEN',
    ],
    [
      'a Practitioner holding the patient role',
      () => signed({ typ: 'JWT' }, 'Practitioner/p1', 'patient'),
      'AUTH.INVALID_TOKEN',
    ],
    [
      'claims that are not an actor',
      async () => ({ authorization: `Bearer ${await auth.token('nobody', 'practitioner')}` }),
      'AUTH.INVALID_TOKEN',
    ],
  ])('refuses %s with 401 problem+json', async (_name, headers, code) => {
    const response = await get(unknownPatient, await headers());
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="medledger"/);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(await response.json()).toMatchObject({ code });
  });

  it.each(['/health', '/metrics', '/docs/openapi.json'])('leaves %s open', async (path) => {
    expect((await get(path)).status).toBe(200);
  });

  it('guards the event store routes too', async () => {
    expect((await get('/v1/events/unsealed')).status).toBe(401);
  });
});

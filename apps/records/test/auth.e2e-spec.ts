import { randomBytes } from 'node:crypto';
import { mintToken } from '@medledger/platform';
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

  it('lets a valid token through', async () => {
    const response = await get(unknownPatient, await auth.headers('Practitioner/p1', 'practitioner'));
    expect(response.status).toBe(404); // authenticated; the patient does not exist
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

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startService, testAuth, uniqueSuffix, type RunningService } from '@medledger/testing';
import { SupplyModule } from '../src/app.module';
import { readGln } from '../src/capture/domain/keys';
import { companyPrefixesIn, prefixLength } from '../src/capture/capture.service';
import { normaliseEpcis } from '../src/capture/domain/normalise';
import { validateEpcis } from '../src/epcis/domain/validate';
import { withCheckDigit } from '../src/identifiers/domain';

const EXAMPLES = join(__dirname, 'fixtures/gs1-examples');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.jsonld') ? [join(dir, entry.name)] : [],
  );
}

type Json = Record<string, unknown> & { epcisBody: { eventList: Json[] } };

/**
 * GS1's own published EPCIS 2.0 examples, captured through the service: each event alone, by the party at its
 * bizLocation (or readPoint). Each is accepted (201) or refused (422) exactly as the pure capture step decides;
 * why each refused one is refused is the table in src/capture/domain/normalise.spec.ts (assets rather than packs,
 * among them the GIAI children of GS1's AssociationEvents, an association DELETE naming no child, quantities where
 * custody needs serials, locations of two parties), and an error declaration withdraws its event when an earlier
 * example captured it, else has nothing to withdraw. TransformationEvents are captured: 9.6.4 and its Digital Link
 * twin name the same packs, so the second is recorded with its detections (its outputs commissioned already).
 */
describe('supply: GS1 example documents through POST /v1/capture', () => {
  const auth = testAuth('supply');
  let supply: RunningService;

  beforeAll(async () => {
    supply = await startService('supply', (config) =>
      SupplyModule.forRoot(config, { KEYS_DIR: `.data/test-keys/${uniqueSuffix()}`, ...auth.env }),
    );
  }, 60_000);

  afterAll(async () => {
    await supply?.close();
  });

  /** Hashes this suite captured, in order (an error declaration names one). */
  const captured = new Set<string>();
  /** Company prefixes the service has learnt from the URNs of documents it accepted. */
  const learned = new Set<string>();
  const cases = files(EXAMPLES).flatMap((path) => {
    const document = JSON.parse(readFileSync(path, 'utf8')) as Json;
    return document.epcisBody.eventList.map(
      (event, index) => [relative(EXAMPLES, path), index, document, event] as const,
    );
  });

  it('has every example', () => {
    expect(cases.length).toBeGreaterThanOrEqual(54);
  });

  test.each(cases.map(([name, index, document, event]) => [`${name} #${index}`, document, event] as const))(
    '%s',
    async (_name, document, event) => {
      const where = (event['bizLocation'] ?? event['readPoint']) as { id?: string } | undefined;
      const gln = readGln(where?.id, 'location');
      const recorder = gln.ok ? gln.value : withCheckDigit('061414100000');
      const alone = { ...document, epcisBody: { ...document.epcisBody, eventList: [event] } };
      const valid = validateEpcis(alone);
      // The service turns Digital Links into URNs with the company prefixes it has learnt from URNs so far.
      const known = new Set([...learned, ...companyPrefixesIn(alone)]);
      const expected = valid.ok
        ? normaliseEpcis({
            document: alone,
            events: valid.events,
            recorder,
            now: new Date().toISOString(),
            companyPrefixLength: (key) => prefixLength(key, known),
          })
        : undefined;
      const token = await auth.token(`Organization/${recorder}`, 'manufacturer', { org: `Organization/${recorder}` });
      const response = await fetch(`${supply.baseUrl}/v1/capture`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/ld+json' },
        body: JSON.stringify(alone),
      });
      const body = (await response.json()) as { errors?: Array<{ code: string }>; captured?: unknown[] };
      const code = (body as { code?: string }).code;
      const hash = expected?.ok ? expected.events[0]?.hash : undefined;
      if (expected?.ok && event['errorDeclaration']) {
        // It withdraws the event it declares (the same hash) if an earlier example captured it; else nothing to withdraw.
        if (hash && captured.has(hash)) expect([response.status, body.captured?.length]).toEqual([201, 1]);
        else expect([response.status, code]).toEqual([422, 'SUPPLY.NOTHING_TO_WITHDRAW']);
      } else if (expected?.ok) {
        expect([response.status, body.captured?.length]).toEqual([201, 1]);
        if (hash) captured.add(hash);
        for (const prefix of companyPrefixesIn(alone)) learned.add(prefix);
      } else {
        expect(response.status).toBe(expected ? 422 : 400);
        if (expected && !expected.ok)
          expect(body.errors?.map((e) => e.code)).toEqual(expected.issues.map((i) => i.code));
      }
    },
  );
});

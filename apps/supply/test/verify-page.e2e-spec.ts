import type { Browser } from 'playwright-core';
import { launchChromium, startService, testAuth, uniqueSuffix, type RunningService } from '@medledger/testing';
import { SupplyModule } from '../src/app.module';
import { composeDigitalLink, formatSglnUri, formatSgtinUri, withCheckDigit } from '../src/identifiers/domain';

/**
 * The pharmacist's page, in a real browser: paste a pack's GS1 Digital Link, see verified or not with the reason,
 * and with a party's token the custody trail.
 */
describe('supply: the /verify page in headless Chromium', () => {
  const auth = testAuth('supply');
  let supply: RunningService;
  let browser: Browser;

  const PREFIX = '0614141';
  const MAKER = withCheckDigit(`${PREFIX}00001`);
  const GTIN = withCheckDigit(`0${PREFIX}54321`);
  const serial = (n: number) => `PG${n}-${uniqueSuffix().slice(0, 6)}`;
  const ok = <T>(parsed: { ok: true; value: T } | { ok: false; reason: string }): T => {
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.value;
  };
  const sgtin = (s: string) => ok(formatSgtinUri({ gtin: GTIN, serial: s, companyPrefixLength: 7 }));
  const SITE = ok(formatSglnUri({ gln: MAKER, companyPrefixLength: 7 }));
  const link = (s: string) => ok(composeDigitalLink({ gtin: GTIN, serial: s, lot: 'LPAGE1' }));

  beforeAll(async () => {
    supply = await startService('supply', (config) =>
      SupplyModule.forRoot(config, { KEYS_DIR: `.data/test-keys/${uniqueSuffix()}`, ...auth.env }),
    );
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await supply?.close();
  });

  it('answers verified, then not verified with the reason, and shows the trail to a party that held the pack', async () => {
    const [good, used] = [serial(1), serial(2)];
    const token = await auth.token(`Organization/${MAKER}`, 'manufacturer', { org: `Organization/${MAKER}` });
    const at = (offset: number) => new Date(Date.now() - 60_000 + offset).toISOString();
    const event = (fields: Record<string, unknown>, offset: number) => ({
      type: 'ObjectEvent',
      eventTime: at(offset),
      eventTimeZoneOffset: '+00:00',
      readPoint: { id: SITE },
      bizLocation: { id: SITE },
      ...fields,
    });
    const response = await fetch(`${supply.baseUrl}/v1/capture`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/ld+json' },
      body: JSON.stringify({
        '@context': ['https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld'],
        type: 'EPCISDocument',
        schemaVersion: '2.0',
        creationDate: new Date().toISOString(),
        epcisBody: {
          eventList: [
            event(
              {
                epcList: [sgtin(good), sgtin(used)],
                action: 'ADD',
                bizStep: 'commissioning',
                disposition: 'active',
                ilmd: { 'cbvmda:lotNumber': 'LPAGE1', 'cbvmda:itemExpirationDate': '2030-01-31' },
              },
              0,
            ),
            event(
              { epcList: [sgtin(used)], action: 'DELETE', bizStep: 'decommissioning', disposition: 'destroyed' },
              1000,
            ),
          ],
        },
      }),
    });
    expect(response.status).toBe(201);

    const page = await browser.newPage();
    await page.goto(`${supply.baseUrl}/verify`);
    await page.fill('#link', link(good));
    await page.click('#verify');
    await page.waitForSelector('#verdict');
    expect(await page.textContent('#verdict')).toBe('VERIFIED');
    expect(await page.textContent('#answer')).toContain('LPAGE1');

    await page.fill('#link', link(used));
    await page.click('#verify');
    await page.waitForSelector('#verdict:text-is("NOT VERIFIED")');
    expect(await page.textContent('#reason')).toBe('SUPPLY.VERIFY.DECOMMISSIONED');

    await page.fill('#link', 'https://id.gs1.org/01/12345678901234/21/x');
    await page.click('#verify');
    await page.waitForSelector('#answer:has-text("SUPPLY.BAD_CHECK_DIGIT")');

    await page.fill('#link', link(good));
    await page.click('summary >> text=custody trail');
    await page.fill('#token', token);
    await page.click('#verify');
    await page.waitForSelector('#steps');
    expect(await page.textContent('#steps')).toContain('commissioning');
    await page.close();
  }, 60_000);
});

import { randomBytes, randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import type { Browser, Page } from 'playwright-core';
import {
  createSigner,
  ed25519PublicKeyFromSeed,
  generateEd25519KeyPair,
  OriginSigner,
  verifierKey,
} from '@medledger/ledger-core';
import {
  eventually,
  launchChromium,
  startService,
  testProducer,
  uniqueSuffix,
  type RunningService,
} from '@medledger/testing';
import { LedgerModule } from '../src/app.module';

/**
 * The block explorer (issue 15) in a real browser against a real ledger on Kafka and PostgreSQL: the checkpoint's
 * signature, an event's inclusion and the log's consistency are checked by the page itself, with WebCrypto.
 */
describe('ledger: the /explorer page in headless Chromium', () => {
  const suffix = uniqueSuffix();
  const topic = `test.${suffix}.supply.events`;
  const supplyKeys = generateEd25519KeyPair();
  const supply = new OriginSigner('supply', supplyKeys.seed);
  // A ledger key whose verifier key's base64 holds a '+' (about half of all keys do): the page must not read that
  // '+' as a field separator (it did, and failed for such keys only).
  const ledgerSeed = (() => {
    for (;;) {
      const seed = randomBytes(32);
      const vkey = verifierKey('medledger.local/ledger', ed25519PublicKeyFromSeed(seed));
      if (vkey.split('+').length > 3) return seed;
    }
  })();
  let ledger: RunningService;
  let producer: Producer;
  let browser: Browser;
  let page: Page;
  const sent: string[] = [];

  async function size(): Promise<number> {
    const response = await fetch(`${ledger.baseUrl}/v1/checkpoint`);
    return response.ok ? Number((await response.text()).split('\n')[1]) : 0;
  }

  async function publish(count: number): Promise<void> {
    const batch = supply.signBatch(
      Array.from({ length: count }, (_, n) => ({
        specversion: '1.0',
        id: randomUUID(),
        source: '/medledger/supply',
        type: 'supply.PackCommissioned',
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        data: { n },
      })),
    );
    await producer.send({ topic, messages: batch.map((event) => ({ value: JSON.stringify(event) })) });
    sent.push(...batch.map((event) => event['id'] as string));
    const expected = sent.length;
    await eventually(async () => ((await size()) >= expected ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
  }

  beforeAll(async () => {
    ledger = await startService('ledger', (config) =>
      LedgerModule.forRoot(config, {
        LEDGER_TOPICS: topic,
        LEDGER_GROUP_ID: `ledger-test-${suffix}`,
        LEDGER_PRODUCER_KEYS: verifierKey('supply', supplyKeys.publicKey),
        LEDGER_BLOCK_MAX_EVENTS: '10',
        LEDGER_BLOCK_MAX_AGE_MS: '50',
        LEDGER_SIGNING_KEY: ledgerSeed.toString('base64'),
        KEYS_DIR: `.data/test-keys/${suffix}`,
      }),
    );
    producer = await testProducer();
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await producer?.disconnect();
    await ledger?.close();
  });

  const status = (id: string) => page.locator(`#${id}`).innerText();
  /** Waits for the page's verdict; if it does not come, fails with what the page says instead. */
  async function verdict(expected: 'verified' | 'NOT VERIFIED'): Promise<void> {
    const deadline = Date.now() + 30_000;
    while ((await status('verdict')) !== expected) {
      if (Date.now() > deadline)
        throw new Error(
          `verdict ${await status('verdict')}, not ${expected}: ${await status('checkpoint-status')} / ${await status('signatures')}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('verifies the checkpoint, lists blocks and leaves, and proves an event in the browser', async () => {
    await publish(25);
    await page.goto(`${ledger.baseUrl}/explorer`);
    await verdict('verified');
    expect(await status('checkpoint-status')).toMatch(/not pinned/);
    expect(Number(await status('size'))).toBe(25);

    // Pin the ledger's key: verified with it. A stranger's key alone: not verified.
    const keys = (await (await fetch(`${ledger.baseUrl}/v1/keys`)).json()) as { keys: Array<{ verifierKey: string }> };
    const ledgerKey = keys.keys[0]?.verifierKey ?? '';
    const stranger = createSigner(ledgerKey.split('+')[0] ?? 'x', randomBytes(32));
    await page.locator('details summary').click();
    await page.fill('#keys', verifierKey(stranger.name, stranger.publicKey));
    await page.click('#keys-form button');
    await verdict('NOT VERIFIED');
    expect(await status('signatures')).toMatch(/no pinned key: not checked/);
    await page.fill('#keys', ledgerKey);
    await page.click('#keys-form button');
    await verdict('verified');
    expect(await status('checkpoint-status')).toMatch(/with your pinned keys/);

    // Blocks of at most ten events: three at least; open the first and prove one of its events.
    expect(await page.locator('#blocks-body tr').count()).toBeGreaterThanOrEqual(3);
    await page.click('#blocks-body button[data-height="0"]');
    await page.waitForSelector('#block:not([hidden]) #leaves-body tr');
    expect(await status('block-title')).toMatch(/^Block 0: leaves 0–/);
    await page.click(`#leaves-body button[data-event="${sent[0]}"]`);
    await page.waitForSelector('#inclusion-result.ok');
    expect(await status('inclusion-result')).toMatch(
      new RegExp(`Included: event ${sent[0]} is leaf 0 .* tree of size 25`),
    );

    // By id: the last event, in the last block.
    await page.fill('#event-id', sent[24] as string);
    await page.click('#inclusion-form button');
    await page.waitForSelector('#inclusion-result.ok:has-text("is leaf 24")');
    // An id the ledger does not hold: its answer, not a proof.
    await page.fill('#event-id', 'no-such-event');
    await page.click('#inclusion-form button');
    await page.waitForSelector('#inclusion-result.bad');
    expect(await status('inclusion-result')).toMatch(/not in the log/);
  });

  it('checks on the next visit that the log grew from the checkpoint it saw, and names a rewritten past', async () => {
    await publish(12);
    await page.reload();
    await verdict('verified');
    await page.waitForSelector('#consistency-result.ok');
    expect(await status('consistency-result')).toMatch(
      /the tree of size 25 is a prefix of the verified tree of size 37/,
    );

    // A root at size 25 that is not the one the ledger signed then: inconsistent.
    await page.fill('#from-size', '25');
    await page.fill('#from-root', Buffer.alloc(32, 7).toString('base64'));
    await page.click('#consistency-form button');
    await page.waitForSelector('#consistency-result.bad');
    expect(await status('consistency-result')).toMatch(/^Inconsistent/);
    // A size larger than today's: the log shrank.
    await page.fill('#from-size', '99');
    await page.click('#consistency-form button');
    await page.waitForSelector('#consistency-result.bad:has-text("shrank")');
  });
});

/**
 * Benchmark of EPCIS 2.0 capture and pack verification through the built supply service (a child process). Each
 * capture is `POST /v1/capture` of an EPCIS document in JSON-LD: the party's token, GS1's JSON Schema, the CBV
 * vocabulary, identifiers and premises checked, every event's hash computed, the packs and their lots locked and
 * loaded, custody applied with every counterfeit and diversion check, and the events, the custody read model and
 * the public events (outbox) written, in one transaction; the relay publishes to Kafka meanwhile. Verification is
 * `GET /v1/verify?gtin&serial`, anyone's, no token. A script, not a test: it prints a table, then one JSON object
 * as its last line. Results: docs/perf.md.
 *
 *   npm run bench:supply -- [options]
 *
 *   --units N            packs in the store before anything is measured (1000000)
 *   --rate-capture N     single-event captures/s of the fixed-rate capture phase (500)
 *   --rate-verify N      verifications/s of the fixed-rate verification phase (500)
 *   --seconds N          length of each fixed-rate phase (30)
 *   --warmup N           unmeasured seconds at the phase's rate before each (5)
 *   --documents N        documents of 100 events in the throughput phase (200)
 *   --concurrency N      documents in flight in the throughput phase (4)
 *   --seed-epcs N        SGTINs per commissioning event when seeding (100)
 *   --seed-concurrency N seeding documents in flight (1; see Store)
 *   --build | --no-build, --cpu-prof, --keep (as bench:records); with --cpu-prof the phases' bounds are printed in
 *                        CLOCK_MONOTONIC µs, the clock of the profile's sample times, to cut the profile by phase
 *
 * Store. Two parties: a manufacturer (GLN 0614141000012) and a wholesaler (0712345000026), tokens minted from a
 * seed the service trusts (org = Organization/<GLN>). The store is seeded through the capture API only, as a
 * manufacturer would fill it: documents of 100 commissioning ObjectEvents (action ADD) of 100 SGTINs each, 10,000
 * packs per document, one in flight (`--seed-concurrency`): the first version of capture took one advisory lock
 * per pack, and two such documents at once overflowed PostgreSQL's shared lock table (53200, a 500); capture now
 * takes bucketed locks (at most 256 per capture) and answers 503 SUPPLY.BUSY if the table is ever full. Each event carries its
 * lot and expiry (ilmd). Ten products (GTINs), lots of 1,000 packs (so a document commissions ten lots); serials
 * `S<n>`. Nothing is written to the service's tables behind its back. The bench runs `ANALYZE` whenever the store
 * has doubled (10,000, 20,000, 40,000 … packs) and `VACUUM (ANALYZE)` after seeding, as autovacuum would: it is off
 * on this PostgreSQL, and the service runs every statement as a named prepared statement, so without statistics a
 * generic plan made on the empty `unit` table (a sequential scan) stays cached while the table grows, and each
 * per-event `SELECT … FROM unit WHERE epc = ANY($1)` scans the whole table: seeding fell from 2,600 to 616 packs/s
 * by 200,000 packs (docs/perf.md). After seeding it also waits for the outbox to drain, so that the relay's backlog
 * is not measured with what follows.
 *
 * Phases, each on packs no earlier phase touched, every event one pack (the finest grain: a pack moving):
 * 1. Throughput: `--documents` documents of 100 events, `--concurrency` in flight, in pairs per lane: the
 *    manufacturer ships 100 packs to the wholesaler (ObjectEvent OBSERVE, bizStep shipping, source and destination
 *    parties), then the wholesaler receives them (bizStep receiving): every event passes every check and no
 *    detection fires (a detection counts as an error). A document's packs come from one lot and documents in flight
 *    from different lots: custody locks a lot for the whole transaction of any event on its packs, so documents on
 *    one lot would queue behind each other (a real burst on one lot would; see docs/perf.md). events/s = events
 *    captured / elapsed wall time.
 * 2. Capture at `--rate-capture`/s, open loop: single-event documents, the manufacturer shipping one fresh pack each
 *    (lots in turn); request i is sent at start + i/rate and timed from then, so a slow service cannot slow the
 *    load down and hide its queue. 201 with no detection, or an error.
 * 3. Verification at `--rate-verify`/s, open loop: 90 % a random seeded pack (must answer verified: true), 10 % a
 *    serial never commissioned (must answer verified: false, SUPPLY.VERIFY.UNKNOWN_SERIAL); anything else is an
 *    error.
 * Errors are counted per phase and the first is printed. Targets (issue 14): ≥ 2,000 events/s in documents of 100;
 * capture p99 ≤ 25 ms at 500 events/s; verification p99 ≤ 10 ms at 500/s; on ≥ 1,000,000 packs.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { mintToken, type ActorRole } from '@medledger/platform';
import { sglnUri, sgtinUri as sgtin, withCheckDigit } from './gs1';
import { cliOptions, round, run, say, sleep, summary, withServiceProcess } from './common';

const options = cliOptions();
const UNITS = options.number('units', 1_000_000);
const RATE_CAPTURE = options.number('rate-capture', 500);
const RATE_VERIFY = options.number('rate-verify', 500);
const SECONDS = options.number('seconds', 30);
const WARMUP_SECONDS = options.number('warmup', 5);
const DOCUMENTS = options.number('documents', 200);
const CONCURRENCY = options.number('concurrency', 4);
const SEED_CONCURRENCY = options.number('seed-concurrency', 1);
/** SGTINs per commissioning event when seeding: 100 × 100 = 10,000 packs (≈ 450 kB) per document, under 1 MB. */
const SEED_EPCS_PER_EVENT = options.number('seed-epcs', 100);
/** The targets (issue 14). */
const TARGET_EVENTS_PER_SECOND = 2_000;
const TARGET_CAPTURE_P99_MS = 25;
const TARGET_VERIFY_P99_MS = 10;
const TARGET_UNITS = 1_000_000;

/** Events per document in the throughput phase and in seeding (the "documents of 100 events"). */
const EVENTS_PER_DOCUMENT = 100;
/** Packs per lot: a small production batch. Also what spreads concurrent documents over different lot locks. */
const LOT_UNITS = 1_000;
const PRODUCTS = 10;
/** Share of verifications asking for a serial never commissioned. */
const UNKNOWN_SHARE = 0.1;
const EXPIRY = '2030-06-30';
const OUTBOX_DRAIN_TIMEOUT_MS = 30 * 60_000;

const sgtinUri = (gtin: string, serial: string) => sgtin(gtin, serial, COMPANY_PREFIX_LENGTH);
const sgln = (gln: string) => sglnUri(gln, COMPANY_PREFIX_LENGTH);

const AUTH_SEED = randomBytes(32);
const COMPANY_PREFIX_LENGTH = 7;
const MAKER_PREFIX = '0614141';
const MAKER = withCheckDigit(`${MAKER_PREFIX}00001`);
const WHOLESALER = withCheckDigit('071234500002');
const GTINS = Array.from({ length: PRODUCTS }, (_v, i) => withCheckDigit(`0${MAKER_PREFIX}${String(10_000 + i)}`));
const MAKER_SGLN = sgln(MAKER);
const WHOLESALER_SGLN = sgln(WHOLESALER);

/** Pack n: its lot, product, serial and SGTIN URN. */
const lotOf = (n: number) => Math.floor(n / LOT_UNITS);
const gtinOf = (n: number) => GTINS[lotOf(n) % PRODUCTS] as string;
const serialOf = (n: number) => `S${n}`;
const lotNameOf = (n: number) => `B${lotOf(n)}`;
const sgtinOf = (n: number) => sgtinUri(gtinOf(n), serialOf(n));

function token(gln: string, role: ActorRole): Promise<string> {
  return mintToken(AUTH_SEED, {
    sub: `Organization/${gln}`,
    role,
    org: `Organization/${gln}`,
    issuer: 'medledger.local',
    audience: 'medledger-supply',
    expiresIn: '4h',
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

function send(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  authorization?: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${baseUrl}${path}`,
      {
        method,
        agent,
        headers: {
          ...(authorization && { authorization }),
          ...(payload !== undefined && {
            'content-type': 'application/ld+json',
            'content-length': Buffer.byteLength(payload),
          }),
        },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

/** POST /v1/capture: resolves with the number of events captured; a refusal or a detection is an error. */
async function capture(baseUrl: string, authorization: string, events: unknown[]): Promise<number> {
  const { status, text } = await send(baseUrl, 'POST', '/v1/capture', authorization, documentOf(events));
  if (status !== 201) throw new Error(`POST /v1/capture -> ${status} ${text.slice(0, 2000)}`);
  const answer = JSON.parse(text) as { captured: Array<{ replay: boolean }>; detections: unknown[] };
  if (answer.detections.length > 0)
    throw new Error(`unexpected detections: ${JSON.stringify(answer.detections).slice(0, 2000)}`);
  const fresh = answer.captured.filter((c) => !c.replay).length;
  if (fresh !== events.length) throw new Error(`${events.length - fresh} of ${events.length} events were replays`);
  return fresh;
}

const documentOf = (events: unknown[]) => ({
  '@context': ['https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld'],
  type: 'EPCISDocument',
  schemaVersion: '2.0',
  creationDate: new Date().toISOString(),
  epcisBody: { eventList: events },
});

/** An ObjectEvent at `at`'s premises, a minute ago (well inside the service's clock). */
const objectEvent = (at: string, fields: Record<string, unknown>) => ({
  type: 'ObjectEvent',
  eventTime: new Date(Date.now() - 60_000).toISOString(),
  eventTimeZoneOffset: '+00:00',
  readPoint: { id: at },
  bizLocation: { id: at },
  ...fields,
});

/** Packs [first, first + count) of one lot, commissioned by the manufacturer. */
const commissioning = (first: number, count: number) =>
  objectEvent(MAKER_SGLN, {
    epcList: Array.from({ length: count }, (_v, i) => sgtinOf(first + i)),
    action: 'ADD',
    bizStep: 'commissioning',
    disposition: 'active',
    ilmd: { 'cbvmda:lotNumber': lotNameOf(first), 'cbvmda:itemExpirationDate': EXPIRY },
  });

const transfer = {
  sourceList: [
    { type: 'owning_party', source: MAKER_SGLN },
    { type: 'possessing_party', source: MAKER_SGLN },
  ],
  destinationList: [
    { type: 'owning_party', destination: WHOLESALER_SGLN },
    { type: 'possessing_party', destination: WHOLESALER_SGLN },
  ],
};
const shipping = (n: number) =>
  objectEvent(MAKER_SGLN, {
    epcList: [sgtinOf(n)],
    action: 'OBSERVE',
    bizStep: 'shipping',
    disposition: 'in_transit',
    ...transfer,
  });
const receiving = (n: number) =>
  objectEvent(WHOLESALER_SGLN, {
    epcList: [sgtinOf(n)],
    action: 'OBSERVE',
    bizStep: 'receiving',
    disposition: 'in_progress',
    ...transfer,
  });

/** Hands out packs no phase has touched yet, `count` at a time from one lot, starting from the lot asked for. */
function packPool(units: number) {
  const lots = Math.ceil(units / LOT_UNITS);
  const used = new Array<number>(lots).fill(0);
  const size = (lot: number) => Math.min(LOT_UNITS, units - lot * LOT_UNITS);
  return {
    lots,
    take(count: number, preferred: number): number[] {
      for (let k = 0; k < lots; k++) {
        const lot = (preferred + k) % lots;
        const at = used[lot] as number;
        if (size(lot) - at < count) continue;
        used[lot] = at + count;
        return Array.from({ length: count }, (_v, i) => lot * LOT_UNITS + at + i);
      }
      throw new Error(`no lot has ${count} untouched packs left: raise --units or lower --documents/--seconds`);
    },
  };
}

/** Open loop: request i is sent at start + i/rate and timed from then. Returns the errors and the elapsed seconds. */
async function fixedRate(
  rate: number,
  count: number,
  request: (i: number) => Promise<void>,
  done: (ms: number) => void,
): Promise<{ errors: number; seconds: number }> {
  let errors = 0;
  const start = performance.now();
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < count; i++) {
    const scheduled = start + (i * 1000) / rate;
    const wait = scheduled - performance.now();
    if (wait > 1) await sleep(wait);
    inFlight.push(
      request(i).then(
        () => done(performance.now() - scheduled),
        (error: unknown) => {
          if (errors++ === 0) say(`  first error: ${String(error)}`);
        },
      ),
    );
  }
  await Promise.all(inFlight);
  return { errors, seconds: (performance.now() - start) / 1000 };
}

/** Phase bounds on CLOCK_MONOTONIC (process.hrtime, the clock V8 stamps profile samples with), for --cpu-prof. */
const marks: string[] = [];
const mark = (name: string) => marks.push(`${name} ${process.hrtime.bigint() / 1000n}`);

async function main(): Promise<void> {
  const needed = (DOCUMENTS / 2) * EVENTS_PER_DOCUMENT + RATE_CAPTURE * (SECONDS + WARMUP_SECONDS);
  if (needed > UNITS) throw new Error(`the phases need ${needed} untouched packs; --units is ${UNITS}`);
  if (DOCUMENTS % 2 !== 0) throw new Error('--documents must be even (a shipment, then its receipt)');

  await withServiceProcess(
    'supply',
    'capturebench',
    AUTH_SEED,
    options,
    {},
    async ({ records: supply, databaseUrl }) => {
      const baseUrl = supply.baseUrl;
      const maker = `Bearer ${await token(MAKER, 'manufacturer')}`;
      const wholesaler = `Bearer ${await token(WHOLESALER, 'wholesaler')}`;
      const sql = new Client({ connectionString: databaseUrl });
      // The bench's own connection (outbox count, VACUUM): the database is dropped under it at the end.
      sql.on('error', () => undefined);
      await sql.connect();
      const unpublished = async () =>
        Number(
          (await sql.query<{ n: string }>('SELECT count(*) AS n FROM es_outbox WHERE published_at IS NULL')).rows[0]?.n,
        );
      const drain = async (what: string) => {
        const start = performance.now();
        for (let left = await unpublished(); left > 0; left = await unpublished()) {
          if (performance.now() - start > OUTBOX_DRAIN_TIMEOUT_MS)
            throw new Error(`the outbox did not drain (${left})`);
          await sleep(500);
        }
        const seconds = round((performance.now() - start) / 1000);
        if (seconds >= 1) say(`  outbox drained ${seconds} s after ${what}`);
        return seconds;
      };

      // Seeding, through the capture API.
      const perDocument = EVENTS_PER_DOCUMENT * SEED_EPCS_PER_EVENT;
      const seedDocuments = Math.ceil(UNITS / perDocument);
      say(
        `seeding ${UNITS} packs: ${seedDocuments} documents of ≤ ${EVENTS_PER_DOCUMENT} commissionings of ${SEED_EPCS_PER_EVENT} SGTINs, ${SEED_CONCURRENCY} in flight`,
      );
      let nextDocument = 0;
      let seededUnits = 0;
      let seededEvents = 0;
      const seedLatencies: number[] = [];
      mark('seed-start');
      const seedStart = performance.now();
      let lastReport = 0;
      let analyzeAt = perDocument;
      await Promise.all(
        Array.from({ length: SEED_CONCURRENCY }, async () => {
          while (nextDocument < seedDocuments) {
            const d = nextDocument++;
            const events: unknown[] = [];
            for (
              let first = d * perDocument;
              first < Math.min(UNITS, (d + 1) * perDocument);
              first += SEED_EPCS_PER_EVENT
            )
              events.push(commissioning(first, Math.min(SEED_EPCS_PER_EVENT, UNITS - first)));
            const t = performance.now();
            // (not `seededEvents += await …`: that reads the total before the await and loses other lanes' counts)
            const captured = await capture(baseUrl, maker, events);
            seededEvents += captured;
            seedLatencies.push(performance.now() - t);
            seededUnits += Math.min(UNITS, (d + 1) * perDocument) - d * perDocument;
            if (seededUnits >= analyzeAt) {
              // What autovacuum's analyze would do (it is off on this server): see the header.
              analyzeAt *= 2;
              await sql.query('ANALYZE');
            }
            if (seededUnits - lastReport >= UNITS / 20 || seededUnits === UNITS) {
              lastReport = seededUnits;
              const s = (performance.now() - seedStart) / 1000;
              say(`  ${seededUnits}/${UNITS} packs in ${round(s)} s (${round(seededUnits / s, 0)} packs/s)`);
            }
          }
        }),
      );
      const seedSeconds = (performance.now() - seedStart) / 1000;
      mark('seed-end');
      const seeding = {
        units: seededUnits,
        events: seededEvents,
        documents: seedDocuments,
        seconds: round(seedSeconds),
        unitsPerSecond: round(seededUnits / seedSeconds, 0),
        eventsPerSecond: round(seededEvents / seedSeconds, 1),
        documentMs: summary(seedLatencies),
        /** Minutes that seeding TARGET_UNITS would take at the measured rate. */
        minutesFor1M: round(TARGET_UNITS / (seededUnits / seedSeconds) / 60, 1),
        outboxDrainSeconds: 0,
      };
      say(`  seeded in ${seeding.seconds} s: ${seeding.unitsPerSecond} packs/s, ${seeding.eventsPerSecond} events/s`);
      seeding.outboxDrainSeconds = await drain('seeding');
      const vacuumStart = performance.now();
      await sql.query('VACUUM (ANALYZE)');
      say(`  VACUUM (ANALYZE) in ${round((performance.now() - vacuumStart) / 1000)} s`);

      const pool = packPool(UNITS);

      // Phase 1: throughput, documents of 100 events, CONCURRENCY in flight.
      say(`phase 1: ${DOCUMENTS} documents of ${EVENTS_PER_DOCUMENT} events, ${CONCURRENCY} in flight`);
      let pairs = 0;
      let lot = 0;
      let documentFailures = 0;
      let throughputEvents = 0;
      const documentLatencies: number[] = [];
      mark('throughput-start');
      const phase1Start = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (pairs < DOCUMENTS / 2) {
            pairs++;
            const packs = pool.take(EVENTS_PER_DOCUMENT, lot++);
            for (const [authorization, event] of [
              [maker, shipping],
              [wholesaler, receiving],
            ] as const) {
              const t = performance.now();
              try {
                const captured = await capture(baseUrl, authorization, packs.map(event));
                throughputEvents += captured;
                documentLatencies.push(performance.now() - t);
              } catch (error) {
                if (documentFailures++ === 0) say(`  first error: ${String(error)}`);
                break;
              }
            }
          }
        }),
      );
      const phase1Seconds = (performance.now() - phase1Start) / 1000;
      mark('throughput-end');
      const eventsPerSecond = round(throughputEvents / phase1Seconds);
      const perDocumentMs = summary(documentLatencies);
      say(
        `  ${throughputEvents} events in ${round(phase1Seconds)} s: ${eventsPerSecond} events/s; document p50 ${perDocumentMs.p50} ms, p99 ${perDocumentMs.p99} ms; errors ${documentFailures}`,
      );
      await drain('phase 1');

      // Phase 2: single-event captures at RATE_CAPTURE/s, open loop.
      let captureLot = 0;
      const shipOne = async () => {
        const [pack] = pool.take(1, captureLot++);
        await capture(baseUrl, maker, [shipping(pack as number)]);
      };
      say(`phase 2: warm-up, ${RATE_CAPTURE} captures/s for ${WARMUP_SECONDS} s, not measured`);
      await fixedRate(RATE_CAPTURE, RATE_CAPTURE * WARMUP_SECONDS, shipOne, () => undefined);
      const captureCount = RATE_CAPTURE * SECONDS;
      say(`phase 2: ${RATE_CAPTURE} single-event captures/s for ${SECONDS} s (${captureCount}), open loop`);
      const captureLatencies: number[] = [];
      mark('capture-start');
      const phase2 = await fixedRate(RATE_CAPTURE, captureCount, shipOne, (ms) => captureLatencies.push(ms));
      mark('capture-end');
      const captureMs = summary(captureLatencies);
      say(`  p50 ${captureMs.p50} ms, p99 ${captureMs.p99} ms, max ${captureMs.max} ms; errors ${phase2.errors}`);
      await drain('phase 2');

      // Phase 3: verification at RATE_VERIFY/s, open loop.
      const verifyOne = async () => {
        const unknown = Math.random() < UNKNOWN_SHARE;
        const n = randomInt(UNITS);
        const serial = unknown ? `U${randomInt(1e9)}` : serialOf(n);
        const { status, text } = await send(baseUrl, 'GET', `/v1/verify?gtin=${gtinOf(n)}&serial=${serial}`);
        const answer = status === 200 ? (JSON.parse(text) as { verified?: boolean; reason?: string }) : {};
        const right = unknown
          ? answer.verified === false && answer.reason === 'SUPPLY.VERIFY.UNKNOWN_SERIAL'
          : answer.verified === true;
        if (!right)
          throw new Error(`GET /v1/verify (${unknown ? 'unknown' : 'known'} serial ${serial}) -> ${status} ${text}`);
      };
      say(`phase 3: warm-up, ${RATE_VERIFY} verifications/s for ${WARMUP_SECONDS} s, not measured`);
      await fixedRate(RATE_VERIFY, RATE_VERIFY * WARMUP_SECONDS, verifyOne, () => undefined);
      const verifyCount = RATE_VERIFY * SECONDS;
      say(
        `phase 3: ${RATE_VERIFY} verifications/s for ${SECONDS} s (${verifyCount}), open loop, ${UNKNOWN_SHARE * 100} % unknown`,
      );
      const verifyLatencies: number[] = [];
      mark('verify-start');
      const phase3 = await fixedRate(RATE_VERIFY, verifyCount, verifyOne, (ms) => verifyLatencies.push(ms));
      mark('verify-end');
      if (options.flag('cpu-prof')) say(`phase bounds (monotonic µs): ${marks.join(', ')}`);
      const verifyMs = summary(verifyLatencies);
      say(`  p50 ${verifyMs.p50} ms, p99 ${verifyMs.p99} ms, max ${verifyMs.max} ms; errors ${phase3.errors}`);
      await sql.end();

      const storeMet = UNITS >= TARGET_UNITS;
      const result = {
        bench: 'supply',
        machine: { cpus: cpus().length, node: process.version },
        dataset: { units: UNITS, lots: pool.lots, products: PRODUCTS, lotUnits: LOT_UNITS },
        seeding,
        throughput: {
          documents: DOCUMENTS,
          eventsPerDocument: EVENTS_PER_DOCUMENT,
          concurrency: CONCURRENCY,
          events: throughputEvents,
          seconds: round(phase1Seconds),
          eventsPerSecond,
          documentMs: perDocumentMs,
          errors: documentFailures,
        },
        capture: {
          rate: RATE_CAPTURE,
          seconds: SECONDS,
          achievedPerSecond: round(captureCount / phase2.seconds),
          latencyMs: captureMs,
          errors: phase2.errors,
        },
        verify: {
          rate: RATE_VERIFY,
          seconds: SECONDS,
          unknownShare: UNKNOWN_SHARE,
          achievedPerSecond: round(verifyCount / phase3.seconds),
          latencyMs: verifyMs,
          errors: phase3.errors,
        },
        target: {
          eventsPerSecond: TARGET_EVENTS_PER_SECOND,
          captureP99Ms: TARGET_CAPTURE_P99_MS,
          verifyP99Ms: TARGET_VERIFY_P99_MS,
          units: TARGET_UNITS,
          throughputMet: eventsPerSecond >= TARGET_EVENTS_PER_SECOND && documentFailures === 0,
          captureP99Met: captureMs.p99 <= TARGET_CAPTURE_P99_MS && phase2.errors === 0,
          verifyP99Met: verifyMs.p99 <= TARGET_VERIFY_P99_MS && phase3.errors === 0,
          storeMet,
        },
      };
      const met = (yes: boolean) => (yes ? 'met' : 'MISSED');
      const t = result.target;
      process.stdout.write(
        [
          '',
          '| measure | value |',
          '| ------- | ----- |',
          `| store | ${UNITS} packs, ${pool.lots} lots of ≤ ${LOT_UNITS}, ${PRODUCTS} GTINs (target ≥ ${TARGET_UNITS}: ${met(storeMet)}) |`,
          `| seeding through the API (${EVENTS_PER_DOCUMENT} × ${SEED_EPCS_PER_EVENT} SGTINs per document, ${SEED_CONCURRENCY} in flight) | ${seeding.seconds} s: ${seeding.unitsPerSecond} packs/s, ${seeding.eventsPerSecond} events/s; document p50 ${seeding.documentMs.p50} ms (1M packs: ${seeding.minutesFor1M} min) |`,
          `| throughput, documents of ${EVENTS_PER_DOCUMENT} one-pack events, ${CONCURRENCY} in flight | ${eventsPerSecond} events/s (target ≥ ${TARGET_EVENTS_PER_SECOND}: ${met(t.throughputMet)}); document p50 ${perDocumentMs.p50} ms, p99 ${perDocumentMs.p99} ms; errors ${documentFailures} |`,
          `| capture at ${RATE_CAPTURE}/s (single-event documents), p50 / p99 / max | ${captureMs.p50} / ${captureMs.p99} / ${captureMs.max} ms (target p99 ≤ ${TARGET_CAPTURE_P99_MS} ms: ${met(t.captureP99Met)}); achieved ${result.capture.achievedPerSecond}/s, errors ${phase2.errors} |`,
          `| verification at ${RATE_VERIFY}/s, p50 / p99 / max | ${verifyMs.p50} / ${verifyMs.p99} / ${verifyMs.max} ms (target p99 ≤ ${TARGET_VERIFY_P99_MS} ms: ${met(t.verifyP99Met)}); achieved ${result.verify.achievedPerSecond}/s, errors ${phase3.errors} |`,
          '',
          '',
        ].join('\n'),
      );
      process.stdout.write(`${JSON.stringify(result)}\n`);
    },
  );
}

run(main);

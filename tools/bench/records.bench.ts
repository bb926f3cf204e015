/**
 * Benchmark of reads of a patient's record under consent, through the built records service (a child process):
 * each read authenticates the bearer token, loads the patient's consents, decides, decrypts the resource and commits
 * its AuditEvent (with the public records.AccessAudited event in the outbox) before answering. A script, not a test:
 * it prints a table, then one JSON object as its last line. Results: docs/perf.md.
 *
 *   npm run bench:records -- [options]
 *
 *   --patients N      patients in the record set (200)
 *   --observations N  Observations per patient (5)
 *   --consents N      Consents per patient; the last one permits the reader (3)
 *   --rate N          reads/s of the fixed-rate phase (200)
 *   --seconds N       length of that phase (30)
 *   --warmup N        unmeasured seconds at that rate first (5)
 *   --concurrency N   reads in flight in the saturation phase (8)
 *   --reads N         reads of the saturation phase (5000)
 *   --import N        resources in the transaction Bundle of the import phase (1000)
 *   --build | --no-build, --cpu-prof, --keep (as bench:outbox); with --cpu-prof the phases' bounds are printed in
 *                     CLOCK_MONOTONIC µs, the clock of the profile's sample times, to cut the profile by phase
 *
 * Method: one records process, a fresh database, Kafka and PostgreSQL real, on this machine. The fixed-rate phase
 * is open-loop: read i is sent at start + i/rate whether or not earlier reads have answered, and its latency runs
 * from that scheduled time to the end of its response, so a stall shows in the tail instead of slowing the load
 * (no coordinated omission). Each read is `GET /fhir/Observation/<random id>` by a practitioner whom the patient's
 * consents permit; the denied reads of a second practitioner (10 % of the load) are timed too. Between seeding and
 * measuring, the database is vacuumed and analysed (what autovacuum does to a live one), then the service warms
 * up at the measured rate for --warmup seconds (its connection pool grows, V8 compiles the hot paths).
 * Reads go over node:http keep-alive connections (undici's fetch cost the load generator 0.5 ms per request).
 *
 * Then the import (issue 16 item 18): one practitioner, whom the first patient's consent permits to correct the
 * record, POSTs a transaction Bundle of --import resources (the Patient updated, the five clinical types created,
 * urn:uuid references between them) to `POST /fhir`, after an unmeasured one of 100 (the first import also
 * compiles the import's code paths, as the reads' warm-up does theirs). Timed from the request to its 200, when every
 * resource and its AuditEvent is committed (one database transaction), then until the outbox relay has published
 * every public event of it to Kafka, then until every one of them is anchored: sealed by the built ledger, and held
 * by records as a verified receipt (the ledger's signed checkpoint and inclusion proof, checked against its pinned
 * key). The ledger starts only after the read phases (records is configured for it from the start), seals what they
 * published, and the import starts once all of that is anchored, so the reads measure records alone, as before.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Agent, get as httpGet } from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { createSigner, ed25519PublicKeyFromSeed, verifierKey } from '@medledger/ledger-core';
import { mintToken, type ActorRole } from '@medledger/platform';
import {
  createDatabaseFromTemplate,
  databaseUrl as databaseUrlOf,
  dropDatabase,
  migrateServiceDatabase,
} from '@medledger/testing';
import { cliOptions, ROOT, round, run, say, sleep, summary, withServiceProcess } from './common';
import {
  buildLedger,
  freePort,
  ledgerBuildIsStale,
  startLedger,
  stopLedger,
  waitForHealth,
  type LedgerProcess,
} from './ledger-harness';

const options = cliOptions();
const PATIENTS = options.number('patients', 200);
const OBSERVATIONS = options.number('observations', 5);
const CONSENTS = options.number('consents', 3);
const RATE = options.number('rate', 200);
const SECONDS = options.number('seconds', 30);
/** Unmeasured seconds at the fixed rate before the measured ones. */
const WARMUP_SECONDS = options.number('warmup', 5);
const CONCURRENCY = options.number('concurrency', 8);
const READS = options.number('reads', 5_000);
const IMPORT_RESOURCES = options.number('import', 1_000);
/** Resources of the unmeasured import before it (the first import also compiles its code paths). */
const IMPORT_WARMUP = 100;
/** The issue's target: p99 of consent-checked reads at 200 reads/s. */
const TARGET_P99_MS = 20;
/** The issue's target for the import of a 1,000-resource transaction Bundle, stored and audited. */
const TARGET_IMPORT_MS = 2_000;
/** Public events of records not yet anchored: unpublished, or with no verified receipt. */
const UNANCHORED = `SELECT count(*) AS n FROM es_outbox o
  WHERE NOT EXISTS (SELECT 1 FROM es_receipt r WHERE r.event_id = o.event_id AND r.verified_at IS NOT NULL)`;
/** Every tenth read of the fixed-rate phase is by a practitioner no consent permits. */
const DENIED_EVERY = 10;

const AUTH_SEED = randomBytes(32);
const READER = 'Practitioner/bench-reader';
const IMPORTER = 'Practitioner/bench-importer';
const STRANGER = 'Practitioner/bench-stranger';

function token(sub: string, role: ActorRole): Promise<string> {
  return mintToken(AUTH_SEED, { sub, role, issuer: 'medledger.local', audience: 'medledger-records', expiresIn: '2h' });
}

async function post(baseUrl: string, path: string, authorization: string, body: unknown): Promise<string> {
  const response = await fetch(baseUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', authorization },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { id?: string };
  if (response.status !== 201 || !answer.id)
    throw new Error(`POST ${path} -> ${response.status} ${JSON.stringify(answer)}`);
  return answer.id;
}

function consent(patientId: string, actor: string, type: 'permit' | 'deny', actions = ['access']) {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patientId}` },
    // The root provision is an exception to the policyRule's base rule (R4; ADR 0007): a permit to OPTOUT's, a deny to OPTIN's.
    policyRule: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: type === 'deny' ? 'OPTIN' : 'OPTOUT' },
      ],
    },
    provision: {
      type,
      actor: [
        {
          role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
          reference: { reference: actor },
        },
      ],
      action: actions.map((code) => ({
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code }],
      })),
    },
  };
}

/**
 * A patient's record as a transaction Bundle of `size` resources: the Patient (updated; its urn:uuid is what the
 * others name as subject) and, in turn, Observations, Conditions (evidence: the Observation before), medications
 * (reason: the Condition before), allergies and documents (related: the Observation before).
 */
function recordBundle(patientId: string, size: number) {
  const urn = () => `urn:uuid:${randomUUID()}`;
  const patient = urn();
  const subject = { reference: patient };
  const entry = (fullUrl: string, resource: Record<string, unknown>) => ({
    fullUrl,
    resource,
    request: { method: 'POST', url: resource['resourceType'] as string },
  });
  const coding = (system: string, code: string) => ({ coding: [{ system, code }] });
  const entries: unknown[] = [
    {
      fullUrl: patient,
      resource: { resourceType: 'Patient', id: patientId, name: [{ family: 'Bench-0', given: ['Import'] }] },
      request: { method: 'PUT', url: `Patient/${patientId}` },
    },
  ];
  let observation = patient;
  let condition = patient;
  for (let i = 1; i < size; i++) {
    const day = new Date(Date.UTC(2020, 0, 1 + i)).toISOString();
    const fullUrl = urn();
    switch (i % 5) {
      case 1:
        observation = fullUrl;
        entries.push(
          entry(fullUrl, {
            resourceType: 'Observation',
            status: 'final',
            code: coding('http://loinc.org', '2339-0'),
            subject,
            effectiveDateTime: day,
            valueQuantity: { value: 4 + (i % 7), unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
          }),
        );
        break;
      case 2:
        condition = fullUrl;
        entries.push(
          entry(fullUrl, {
            resourceType: 'Condition',
            clinicalStatus: coding('http://terminology.hl7.org/CodeSystem/condition-clinical', 'active'),
            code: coding('http://snomed.info/sct', '44054006'),
            subject,
            onsetDateTime: day.slice(0, 10),
            evidence: [{ detail: [{ reference: observation }] }],
          }),
        );
        break;
      case 3:
        entries.push(
          entry(fullUrl, {
            resourceType: 'MedicationStatement',
            status: 'active',
            medicationCodeableConcept: coding('http://www.nlm.nih.gov/research/umls/rxnorm', '860975'),
            subject,
            effectiveDateTime: day,
            reasonReference: [{ reference: condition }],
          }),
        );
        break;
      case 4:
        entries.push(
          entry(fullUrl, {
            resourceType: 'AllergyIntolerance',
            clinicalStatus: coding('http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', 'active'),
            code: coding('http://snomed.info/sct', '227493005'),
            patient: subject,
            recordedDate: day,
          }),
        );
        break;
      default:
        entries.push(
          entry(fullUrl, {
            resourceType: 'DocumentReference',
            status: 'current',
            type: coding('http://loinc.org', '11506-3'),
            subject,
            date: day,
            content: [
              { attachment: { contentType: 'text/plain', data: Buffer.from(`Visit ${i}`).toString('base64') } },
            ],
            context: { related: [{ reference: observation }] },
          }),
        );
    }
  }
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}

/** Patients, their Observations and their consents (the last permits READER), as the patients write them. */
async function seed(baseUrl: string): Promise<string[]> {
  const registrar = `Bearer ${await token('Practitioner/bench-registrar', 'practitioner')}`;
  const observations: string[] = [];
  for (let p = 0; p < PATIENTS; p++) {
    const patientId = await post(baseUrl, '/fhir/Patient', registrar, {
      resourceType: 'Patient',
      name: [{ family: `Bench-${p}`, given: ['Read'] }],
      birthDate: '1970-01-01',
    });
    const own = `Bearer ${await token(`Patient/${patientId}`, 'patient')}`;
    for (let o = 0; o < OBSERVATIONS; o++)
      observations.push(
        await post(baseUrl, '/fhir/Observation', own, {
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
          subject: { reference: `Patient/${patientId}` },
          effectiveDateTime: new Date(Date.UTC(2026, 0, 1 + o)).toISOString(),
          valueQuantity: { value: 60 + o, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
        }),
      );
    for (let c = 0; c < CONSENTS; c++) {
      const last = c === CONSENTS - 1;
      await post(
        baseUrl,
        '/fhir/Consent',
        own,
        consent(patientId, last ? READER : `Practitioner/other-${c}`, last ? 'permit' : 'deny'),
      );
    }
    // The first patient also lets the importer write their record (the import phase).
    if (p === 0) {
      firstPatient = patientId;
      await post(baseUrl, '/fhir/Consent', own, consent(patientId, IMPORTER, 'permit', ['access', 'correct']));
    }
    if ((p + 1) % 50 === 0) say(`  seeded ${p + 1}/${PATIENTS} patients`);
  }
  return observations;
}
let firstPatient = '';

// node:http with keep-alive rather than fetch: undici's own cost per request (about 0.5 ms of this machine's two
// cores) is the load generator's, and it competes with the service it measures.
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

function read(baseUrl: string, id: string, authorization: string, expected: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = httpGet(`${baseUrl}/fhir/Observation/${id}`, { agent, headers: { authorization } }, (response) => {
      response.on('data', () => undefined);
      response.on('end', () =>
        response.statusCode === expected
          ? resolve()
          : reject(new Error(`GET /fhir/Observation/${id} -> ${response.statusCode}`)),
      );
    });
    request.on('error', reject);
  });
}

/** Phase bounds on CLOCK_MONOTONIC (process.hrtime, the clock V8 stamps profile samples with), for --cpu-prof. */
const marks: string[] = [];
const mark = (name: string) => marks.push(`${name} ${process.hrtime.bigint() / 1000n}`);

const pick = (ids: readonly string[]) => ids[Math.floor(Math.random() * ids.length)] as string;

/**
 * The ledger that anchors the import: records is configured for it from the start (its events signed with a key the
 * ledger pins, its receipts checked against the ledger's key), but it runs only from the import phase on, so that the
 * read phases measure records alone, as before.
 */
const ANCHOR = (() => {
  const eventSeed = randomBytes(32);
  const ledgerSeed = randomBytes(32);
  const origin = `bench.records.${randomBytes(3).toString('hex')}/ledger`;
  const signer = createSigner(origin, ledgerSeed);
  return {
    eventSeed,
    ledgerSeed,
    origin,
    ledgerVerifierKey: verifierKey(signer.name, signer.publicKey),
    producerKey: verifierKey('records', ed25519PublicKeyFromSeed(eventSeed)),
  };
})();

/** Starts the built ledger on `port`, sealing `topic`, on a fresh database; stopped and dropped by the returned stop. */
async function startAnchoringLedger(
  adminUrl: string,
  brokers: readonly string[],
  topic: string,
  port: number,
  suffix: string,
): Promise<{ ledger: LedgerProcess; stop: () => Promise<void> }> {
  const database = `medledger_ledger_readbench_${suffix}`;
  await createDatabaseFromTemplate(adminUrl, 'template0', database);
  const url = databaseUrlOf(adminUrl, database);
  await migrateServiceDatabase(ROOT, 'ledger', url);
  const ledger = startLedger(
    {
      NODE_ENV: 'development',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_GROUP_ID: `readbench-ledger-diag-${suffix}`,
      KAFKA_CLIENT_ID: `readbench-ledger-${suffix}`,
      LEDGER_GROUP_ID: `readbench-ledger-${suffix}`,
      LEDGER_TOPICS: topic,
      LEDGER_PRODUCER_KEYS: ANCHOR.producerKey,
      LEDGER_SIGNING_KEY: ANCHOR.ledgerSeed.toString('base64'),
      LEDGER_ORIGIN: ANCHOR.origin,
      KEYS_DIR: join(ROOT, '.data/bench', `keys-${suffix}`),
      LOG_LEVEL: 'warn',
    },
    join(ROOT, `.data/bench/ledger-readbench-${suffix}.log`),
    undefined,
  );
  await waitForHealth(ledger);
  return {
    ledger,
    async stop() {
      await stopLedger(ledger);
      if (!options.flag('keep')) await dropDatabase(adminUrl, database).catch(() => undefined);
    },
  };
}

async function main(): Promise<void> {
  const ledgerPort = await freePort();
  const env = {
    RECORDS_MASTER_KEY: randomBytes(32).toString('base64'),
    EVENT_SIGNING_KEY: ANCHOR.eventSeed.toString('base64'),
    LEDGER_URL: `http://127.0.0.1:${ledgerPort}`,
    LEDGER_VERIFIER_KEYS: ANCHOR.ledgerVerifierKey,
    LEDGER_ORIGIN: ANCHOR.origin,
  };
  await withServiceProcess('records', 'readbench', AUTH_SEED, options, env, async (bench) => {
    const { records, databaseUrl } = bench;
    const baseUrl = records.baseUrl;
    if (options.flag('build') || (!options.flag('no-build') && ledgerBuildIsStale())) {
      say('building the ledger (nx build ledger)...');
      await buildLedger(bench.adminUrl);
    }

    say(`seeding ${PATIENTS} patients × ${OBSERVATIONS} Observations, ${CONSENTS} Consents each...`);
    const ids = await seed(baseUrl);
    const reader = `Bearer ${await token(READER, 'practitioner')}`;
    const stranger = `Bearer ${await token(STRANGER, 'practitioner')}`;
    // Settle: the measured phase should see the steady state of a live database (statistics up to date, as
    // autovacuum keeps them), not autovacuum's first pass over tables the seeding just filled.
    const sql = new Client({ connectionString: databaseUrl });
    await sql.connect();
    await sql.query('VACUUM (ANALYZE)');
    await sql.end();

    /**
     * `count` reads at RATE/s, open loop: read i is sent at start + i/RATE whether or not earlier reads have
     * answered; `done` gets its latency from that scheduled time and the second it was scheduled in. Every
     * DENIED_EVERY-th read is by the stranger and must be refused. Resolves with the number of failed reads.
     */
    async function fixedRate(count: number, done: (i: number, ms: number, second: number) => void): Promise<number> {
      let errors = 0;
      const start = performance.now();
      const inFlight: Array<Promise<void>> = [];
      for (let i = 0; i < count; i++) {
        const scheduled = start + (i * 1000) / RATE;
        const wait = scheduled - performance.now();
        if (wait > 1) await sleep(wait);
        const deny = i % DENIED_EVERY === DENIED_EVERY - 1;
        inFlight.push(
          read(baseUrl, pick(ids), deny ? stranger : reader, deny ? 404 : 200).then(
            () => done(i, performance.now() - scheduled, Math.floor((scheduled - start) / 1000)),
            () => void errors++,
          ),
        );
      }
      await Promise.all(inFlight);
      return errors;
    }

    // 1. Fixed rate, open loop: first WARMUP_SECONDS unmeasured (the service's connection pool grows to the
    // concurrency this rate needs, and V8 compiles its hot paths), then SECONDS measured.
    say(`warm-up: ${RATE} reads/s for ${WARMUP_SECONDS} s, not measured`);
    await fixedRate(RATE * WARMUP_SECONDS, () => undefined);
    const total = RATE * SECONDS;
    say(`phase 1: ${RATE} reads/s for ${SECONDS} s (${total} reads, every ${DENIED_EVERY}th denied)`);
    const permitted: number[] = [];
    const denied: number[] = [];
    /** The slowest read of each second: shows whether the tail is spread or comes in stalls. */
    const slowest: number[] = [];
    const start = performance.now();
    mark('fixed-start');
    const errors = await fixedRate(total, (i, ms, second) => {
      (i % DENIED_EVERY === DENIED_EVERY - 1 ? denied : permitted).push(ms);
      slowest[second] = Math.max(slowest[second] ?? 0, ms);
    });
    mark('fixed-end');
    const phase1Seconds = (performance.now() - start) / 1000;
    const fixed = summary(permitted);
    const refusals = summary(denied);
    say(`  permitted p50 ${fixed.p50} ms, p99 ${fixed.p99} ms; denied p99 ${refusals.p99} ms; errors ${errors}`);
    say(`  slowest read per second (ms): ${slowest.map((ms) => Math.round(ms)).join(' ')}`);

    // 2. Saturation, closed loop.
    say(`phase 2: ${READS} reads, ${CONCURRENCY} in flight`);
    const saturated: number[] = [];
    let next = 0;
    const phase2Start = performance.now();
    mark('saturation-start');
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < READS) {
          next++;
          const t = performance.now();
          await read(baseUrl, pick(ids), reader, 200);
          saturated.push(performance.now() - t);
        }
      }),
    );
    mark('saturation-end');
    const readsPerSecond = round(READS / ((performance.now() - phase2Start) / 1000));
    const closed = summary(saturated);
    say(`  ${readsPerSecond} reads/s, p50 ${closed.p50} ms, p99 ${closed.p99} ms`);

    // 3. The import: one transaction Bundle, then its events on Kafka, then each of them anchored.
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    const count = async (sql: string, values: unknown[] = []) =>
      Number((await db.query<{ n: string }>(sql, values)).rows[0]?.n);
    const waitFor = async (what: string, done: () => Promise<boolean>, seconds: number) => {
      for (const deadline = performance.now() + seconds * 1000; !(await done()); await sleep(5)) {
        if (performance.now() > deadline) throw new Error(`${what}: not reached after ${seconds} s`);
      }
    };
    // The ledger starts now and seals what the read phases published (their AccessAudited events); the import is
    // timed once records holds a verified receipt for every one of them.
    say('starting the ledger; waiting for it to anchor the read phases’ events...');
    const catchUpStart = performance.now();
    const anchoring = await startAnchoringLedger(bench.adminUrl, bench.brokers, bench.topic, ledgerPort, bench.suffix);
    bench.onEnd(() => anchoring.stop());
    await waitFor('the read phases’ events anchored', async () => (await count(UNANCHORED)) === 0, 300);
    const catchUp = {
      events: await count('SELECT count(*) AS n FROM es_outbox'),
      seconds: round((performance.now() - catchUpStart) / 1000),
    };
    say(`  ${catchUp.events} events anchored and their receipts verified in ${catchUp.seconds} s (not measured)`);
    say(`import: a transaction Bundle of ${IMPORT_RESOURCES} resources into one patient's record`);
    const importer = `Bearer ${await token(IMPORTER, 'practitioner')}`;
    const importBundle = (body: string) =>
      fetch(`${baseUrl}/fhir`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', authorization: importer },
        body,
      });
    // Unmeasured first, as the reads warm up: a small import compiles the import's paths (validation of five
    // types, reference rewriting); its time is printed too (cold).
    const warmStart = performance.now();
    const warm = await importBundle(JSON.stringify(recordBundle(firstPatient, IMPORT_WARMUP)));
    if (warm.status !== 200) throw new Error(`warm-up POST /fhir -> ${warm.status} ${await warm.text()}`);
    const warmupMs = round(performance.now() - warmStart);
    say(`  warm-up: ${IMPORT_WARMUP} resources in ${warmupMs} ms, not measured`);
    const bundle = JSON.stringify(recordBundle(firstPatient, IMPORT_RESOURCES));
    // The import's public events are the outbox rows after this position (nothing else writes meanwhile).
    await waitFor('the warm-up anchored', async () => (await count(UNANCHORED)) === 0, 120);
    const before = await count('SELECT coalesce(max(position), 0) AS n FROM es_outbox');
    const importedAt = new Date();
    const importStart = performance.now();
    mark('import-start');
    const imported = await importBundle(bundle);
    mark('import-end');
    const answer = (await imported.json()) as {
      entry?: Array<{ response: { status: string; extension?: Array<{ valueId: string }> } }>;
    };
    const importMs = round(performance.now() - importStart);
    if (imported.status !== 200 || answer.entry?.length !== IMPORT_RESOURCES)
      throw new Error(`POST /fhir -> ${imported.status} ${JSON.stringify(answer).slice(0, 2000)}`);
    const eventIds = answer.entry.map((e) => e.response.extension?.[0]?.valueId as string);
    // Every resource audited: the importer's AuditEvents of this import, committed with the 200.
    const [counts] = (
      await db.query<{ audited: string }>(
        `SELECT count(*) AS audited FROM audit_log
          WHERE patient_id = $1::uuid AND actor = $2 AND outcome = '0' AND interaction IN ('create', 'update')
            AND recorded >= $3::timestamptz`,
        [firstPatient, IMPORTER, importedAt.toISOString()],
      )
    ).rows;
    const audited = Number(counts?.audited);
    // Then the relay: every public event of the import (the resources' and their AccessAudited) published.
    for (const deadline = performance.now() + 60_000; ; await sleep(5)) {
      const { rows } = await db.query<{ waiting: string }>(
        `SELECT count(*) AS waiting FROM es_outbox WHERE published_at IS NULL`,
      );
      if (Number(rows[0]?.waiting) === 0) break;
      if (performance.now() > deadline) throw new Error(`the outbox still holds ${rows[0]?.waiting} events after 60 s`);
    }
    const publishedMs = round(performance.now() - importStart);
    const [published] = (
      await db.query<{ n: string }>(
        'SELECT count(*) AS n FROM es_outbox WHERE event_id = ANY($1::text[]) AND published_at IS NOT NULL',
        [eventIds],
      )
    ).rows;
    // Then anchored: records holds a verified receipt (the ledger's signed checkpoint and an inclusion proof,
    // checked against its pinned key) for every public event of the import.
    await waitFor('the import anchored', async () => (await count(UNANCHORED)) === 0, 120);
    const anchoredMs = round(performance.now() - importStart);
    const importEvents = await count('SELECT count(*) AS n FROM es_outbox WHERE position > $1', [before]);
    const resourcesAnchored = await count(
      'SELECT count(*) AS n FROM es_receipt WHERE event_id = ANY($1::text[]) AND verified_at IS NOT NULL',
      [eventIds],
    );
    await db.end();
    say(
      `  ${IMPORT_RESOURCES} resources stored and audited in ${importMs} ms (${audited} AuditEvents); their events on Kafka after ${publishedMs} ms; all ${importEvents} anchored (receipts verified) after ${anchoredMs} ms`,
    );

    if (options.flag('cpu-prof')) say(`phase bounds (monotonic µs): ${marks.join(', ')}`);
    const result = {
      bench: 'records',
      machine: { cpus: cpus().length, node: process.version },
      dataset: { patients: PATIENTS, observationsPerPatient: OBSERVATIONS, consentsPerPatient: CONSENTS },
      fixedRate: {
        rate: RATE,
        seconds: SECONDS,
        achievedPerSecond: round(total / phase1Seconds),
        permittedMs: fixed,
        deniedMs: refusals,
        errors,
      },
      saturation: { concurrency: CONCURRENCY, readsPerSecond, latencyMs: closed },
      import: {
        resources: IMPORT_RESOURCES,
        warmup: { resources: IMPORT_WARMUP, ms: warmupMs },
        storedAndAuditedMs: importMs,
        audited,
        resourceEventsPublished: Number(published?.n),
        allEventsOnKafkaMs: publishedMs,
        events: importEvents,
        resourcesAnchored,
        allAnchoredMs: anchoredMs,
        ledgerCatchUp: catchUp,
      },
      target: {
        p99Ms: TARGET_P99_MS,
        met: fixed.p99 <= TARGET_P99_MS && errors === 0,
        importMs: TARGET_IMPORT_MS,
        importMet: importMs <= TARGET_IMPORT_MS && audited === IMPORT_RESOURCES,
        anchoredMet: anchoredMs <= TARGET_IMPORT_MS && resourcesAnchored === IMPORT_RESOURCES,
      },
    };
    process.stdout.write(
      [
        '',
        '| measure | value |',
        '| ------- | ----- |',
        `| consent-checked reads at ${RATE}/s, p50 / p99 / max | ${fixed.p50} / ${fixed.p99} / ${fixed.max} ms (target p99 ≤ ${TARGET_P99_MS} ms: ${result.target.met ? 'met' : 'MISSED'}) |`,
        `| refused reads in that phase, p50 / p99 | ${refusals.p50} / ${refusals.p99} ms |`,
        `| achieved rate, errors | ${result.fixedRate.achievedPerSecond} reads/s, ${errors} |`,
        `| saturation (${CONCURRENCY} in flight) | ${readsPerSecond} reads/s, p50 ${closed.p50} ms, p99 ${closed.p99} ms |`,
        `| import of a ${IMPORT_RESOURCES}-resource transaction Bundle, stored and audited | ${importMs} ms, ${audited} AuditEvents (target ≤ ${TARGET_IMPORT_MS} ms: ${result.target.importMet ? 'met' : 'MISSED'}) |`,
        `| … until all its events are on Kafka | ${publishedMs} ms |`,
        `| … until every one of its ${importEvents} events is anchored (receipt verified) | ${anchoredMs} ms, ${resourcesAnchored} resources anchored (within ${TARGET_IMPORT_MS} ms: ${result.target.anchoredMet ? 'yes' : 'NO'}) |`,
        '',
        '',
      ].join('\n'),
    );
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });
}

run(main);

/**
 * Benchmark of visits recorded through the built trials service (a child process): each visit authenticates the
 * investigator's token, loads the trial and the participant's stream, decides, runs the compensation contract over
 * all the participant's facts, and commits the VisitRecorded, PaymentAccrued and PaymentDue events with their public
 * events in the outbox, in one transaction. A script, not a test: it prints a table, then one JSON object as its
 * last line. Results: docs/perf.md.
 *
 *   npm run bench:trials -- [options]
 *
 *   --participants N  participants enrolled (1000)
 *   --visits N        scheduled visits per participant (40)
 *   --rate N          visits/s of the fixed-rate phase (200)
 *   --seconds N       length of that phase (30)
 *   --warmup N        unmeasured seconds at that rate first (5)
 *   --concurrency N   visits in flight in the saturation phase (16)
 *   --count N         visits of the saturation phase (10000)
 *   --build | --no-build, --cpu-prof, --keep (as bench:records); with --cpu-prof the phases' bounds are printed in
 *                        CLOCK_MONOTONIC µs, the clock of the profile's sample times, to cut the profile by phase
 *
 * Method: as bench:records. The fixed-rate phase is open loop (visit i is sent at start + i/rate and timed from
 * then). Visits go to participants in turn, each participant's visits in schedule order, so every request is a
 * visit the contract pays. The trial's activation is marked sealed by writing its receipt row, as the receipt
 * consumer does when ledger.BlockSealed arrives: no ledger runs here (bench:ledger measures it).
 */
import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { mintToken, type ActorRole } from '@medledger/platform';
import { cliOptions, round, run, say, sleep, summary, withServiceProcess } from './common';

const options = cliOptions();
const PARTICIPANTS = options.number('participants', 1_000);
const VISITS = options.number('visits', 40);
const RATE = options.number('rate', 200);
const SECONDS = options.number('seconds', 30);
const WARMUP_SECONDS = options.number('warmup', 5);
const CONCURRENCY = options.number('concurrency', 16);
const COUNT = options.number('count', 10_000);
/** The targets: ≥ 1,000 visits/s with compensation evaluated; p99 ≤ 25 ms at 200 visits/s. */
const TARGET_PER_SECOND = 1_000;
const TARGET_P99_MS = 25;

const AUTH_SEED = randomBytes(32);
const SITE = 'Organization/bench-site';

function token(sub: string, role: ActorRole, org?: string): Promise<string> {
  return mintToken(AUTH_SEED, {
    sub,
    role,
    ...(org ? { org } : {}),
    issuer: 'medledger.local',
    audience: 'medledger-trials',
    expiresIn: '2h',
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

function get(baseUrl: string, path: string, authorization: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${baseUrl}${path}`,
      { method: 'GET', agent, headers: { authorization } },
      (response) => {
        response.resume();
        response.on('end', () =>
          response.statusCode === 200 ? resolve() : reject(new Error(`GET ${path} -> ${response.statusCode}`)),
        );
      },
    );
    request.on('error', reject);
    request.end();
  });
}

function post(baseUrl: string, path: string, authorization: string, body: unknown, expected = 201): Promise<string> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${baseUrl}${path}`,
      {
        method: 'POST',
        agent,
        headers: { authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        response.on('end', () =>
          response.statusCode === expected
            ? resolve(text)
            : reject(new Error(`POST ${path} -> ${response.statusCode} ${text}`)),
        );
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

const hex = () => randomBytes(32).toString('hex');

/** Phase bounds on CLOCK_MONOTONIC (process.hrtime, the clock V8 stamps profile samples with), for --cpu-prof. */
const marks: string[] = [];
const mark = (name: string) => marks.push(`${name} ${process.hrtime.bigint() / 1000n}`);

/**
 * The service's own view of a phase, from its /metrics (prom-client's defaults): the event loop's longest delay since
 * the previous scrape (the metric resets on every scrape) and the time spent in garbage collection, by kind.
 */
async function stalls(
  baseUrl: string,
): Promise<{ loopMaxMs: number; loopP99Ms: number; gcMs: Record<string, number> }> {
  const text = await new Promise<string>((resolve, reject) =>
    httpRequest(`${baseUrl}/metrics`, { agent }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      response.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end(),
  );
  const value = (name: string) =>
    Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((l) => l.startsWith(`${name} `)) ?? '')?.[2]);
  const gcMs: Record<string, number> = {};
  for (const match of text.matchAll(/^nodejs_gc_duration_seconds_sum\{kind="(\w+)"\} (\S+)$/gm))
    gcMs[match[1] as string] = round(Number(match[2]) * 1000);
  return {
    loopMaxMs: round(value('nodejs_eventloop_lag_max_seconds') * 1000),
    loopP99Ms: round(value('nodejs_eventloop_lag_p99_seconds') * 1000),
    gcMs,
  };
}

/** Sends `count` requests at RATE/s, open loop (request i sent at start + i/RATE and timed from then). */
async function openLoop(count: number, send: () => Promise<unknown>, done: (ms: number) => void): Promise<number> {
  let errors = 0;
  const start = performance.now();
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < count; i++) {
    const scheduled = start + (i * 1000) / RATE;
    const wait = scheduled - performance.now();
    if (wait > 1) await sleep(wait);
    inFlight.push(
      send().then(
        () => done(performance.now() - scheduled),
        (error: unknown) => {
          if (errors++ === 0) say(`  first error: ${String(error)}`);
        },
      ),
    );
  }
  await Promise.all(inFlight);
  return errors;
}

async function main(): Promise<void> {
  await withServiceProcess('trials', 'visitbench', AUTH_SEED, options, {}, async ({ records: trials, databaseUrl }) => {
    const baseUrl = trials.baseUrl;
    const sponsor = `Bearer ${await token('Organization/bench-sponsor', 'sponsor', 'Organization/bench-sponsor')}`;
    const investigator = `Bearer ${await token('Practitioner/bench-investigator', 'investigator', SITE)}`;

    say(`seeding a trial with ${VISITS} scheduled visits and ${PARTICIPANTS} enrolled participants...`);
    const { trialId } = JSON.parse(
      await post(baseUrl, '/v1/trials', sponsor, {
        protocolId: `BENCH-${randomBytes(3).toString('hex')}`,
        briefTitle: 'Bench trial',
        officialTitle: 'A trial for the visits benchmark',
        conditions: ['Benchmarking'],
        phase: 'phase-3',
        design: { allocation: 'non-randomized', masking: 'none' },
        arms: [{ armId: 'only', label: 'Only arm', type: 'experimental' }],
        eligibility: { criteria: 'all' },
        targetEnrolment: PARTICIPANTS,
        sponsor: 'Bench',
        sites: [{ site: SITE, label: 'Bench site' }],
        outcomes: [{ outcomeId: 'o1', kind: 'primary', title: 'Primary', measure: 'M', timeFrame: 'End' }],
        protocolDocumentSha256: hex(),
        analysisPlanSha256: hex(),
      }),
    ) as { trialId: string };
    const activation = JSON.parse(await post(baseUrl, `/v1/trials/${trialId}/activate`, sponsor, {}, 200)) as {
      events: Array<{ eventId: string }>;
    };
    const visitIds = Array.from({ length: VISITS }, (_v, i) => `V${i + 1}`);
    await post(baseUrl, `/v1/trials/${trialId}/consent-forms`, sponsor, {
      documentSha256: hex(),
      schedule: {
        scheduleId: 'bench',
        version: 1,
        currency: 'EUR',
        visits: visitIds.map((visitId) => ({ visitId, amount: 2500 })),
        milestones: [{ milestoneId: 'half', amount: 5000, afterVisits: visitIds.slice(0, VISITS / 2) }],
        completionBonus: { amount: 5000, maxShare: 0.2 },
        dueAfterVisits: visitIds.filter((_v, i) => i % 4 === 3),
      },
    });
    const sql = new Client({ connectionString: databaseUrl });
    await sql.connect();
    // The receipt consumer's row for the activation (see the header: no ledger runs in this bench).
    await sql.query(
      `INSERT INTO es_receipt (event_id, leaf_index, block_height, tree_size, checkpoint, received_at, verified_at)
       VALUES ($1, 0, 0, 1, 'bench', now(), now())`,
      [activation.events[0]?.eventId],
    );
    const ids = Array.from({ length: PARTICIPANTS }, (_v, i) => `B-${i}`);
    for (const [i, id] of ids.entries()) {
      await post(baseUrl, `/v1/trials/${trialId}/participants`, investigator, {
        participantId: id,
        site: SITE,
        eligible: true,
      });
      await post(baseUrl, `/v1/trials/${trialId}/participants/${id}/consents`, investigator, { formVersion: 1 });
      await post(baseUrl, `/v1/trials/${trialId}/participants/${id}/enrol`, investigator, {});
      if ((i + 1) % 250 === 0) say(`  enrolled ${i + 1}/${PARTICIPANTS}`);
    }
    await sql.query('VACUUM (ANALYZE)');
    await sql.end();

    // Visits in turn: participant k's next scheduled visit; each is new, so each is paid.
    let cursor = 0;
    const capacity = PARTICIPANTS * VISITS;
    const nextVisit = (): { path: string; body: unknown } => {
      if (cursor >= capacity) throw new Error(`all ${capacity} visits are used: raise --participants or --visits`);
      const participant = ids[cursor % PARTICIPANTS] as string;
      const visitId = visitIds[Math.floor(cursor / PARTICIPANTS)] as string;
      cursor++;
      return {
        path: `/v1/trials/${trialId}/participants/${participant}/visits`,
        body: { visitId, outcome: 'completed', date: '2026-12-02' },
      };
    };

    const fixedRate = (count: number, done: (ms: number) => void) =>
      openLoop(
        count,
        () => {
          const visit = nextVisit();
          return post(baseUrl, visit.path, investigator, visit.body);
        },
        done,
      );

    say(`warm-up: ${RATE} visits/s for ${WARMUP_SECONDS} s, not measured`);
    await fixedRate(RATE * WARMUP_SECONDS, () => undefined);
    const total = RATE * SECONDS;
    say(`phase 1: ${RATE} visits/s for ${SECONDS} s (${total} visits), open loop`);
    const latencies: number[] = [];
    const beforePhase1 = await stalls(baseUrl);
    mark('phase1');
    const phase1Start = performance.now();
    const errors = await fixedRate(total, (ms) => latencies.push(ms));
    const phase1Seconds = (performance.now() - phase1Start) / 1000;
    const fixed = summary(latencies);
    say(`  p50 ${fixed.p50} ms, p99 ${fixed.p99} ms, max ${fixed.max} ms; errors ${errors}`);

    mark('phase1-end');
    const afterPhase1 = await stalls(baseUrl);

    // The platform's floor at the same rate: the cheapest request (as phase 3) sent open loop at RATE/s, so the
    // visits' tail can be told apart from the machine's (the service, PostgreSQL, the broker and this load
    // generator share its cores). The relay is idle here: only phase 1's tail includes its rounds.
    say(`phase 1b (floor at ${RATE}/s): GET /v1/trials/{id} for ${SECONDS} s, open loop`);
    const floorAtRate: number[] = [];
    mark('phase1b');
    const floorAtRateErrors = await openLoop(
      total,
      () => get(baseUrl, `/v1/trials/${trialId}`, investigator),
      (ms) => floorAtRate.push(ms),
    );
    mark('phase1b-end');
    const afterPhase1b = await stalls(baseUrl);
    const gcDelta = (from: Record<string, number>, to: Record<string, number>) =>
      Object.fromEntries(Object.entries(to).map(([kind, ms]) => [kind, round(ms - (from[kind] ?? 0))]));
    const service = {
      visits: { loopMaxMs: afterPhase1.loopMaxMs, gcMs: gcDelta(beforePhase1.gcMs, afterPhase1.gcMs) },
      floor: { loopMaxMs: afterPhase1b.loopMaxMs, gcMs: gcDelta(afterPhase1.gcMs, afterPhase1b.gcMs) },
    };
    say(
      `  service, visits phase: event loop max delay ${service.visits.loopMaxMs} ms, GC ${JSON.stringify(service.visits.gcMs)}`,
    );
    say(
      `  service, floor phase: event loop max delay ${service.floor.loopMaxMs} ms, GC ${JSON.stringify(service.floor.gcMs)}`,
    );
    const fixedFloor = summary(floorAtRate);
    say(`  p50 ${fixedFloor.p50} ms, p99 ${fixedFloor.p99} ms, max ${fixedFloor.max} ms; errors ${floorAtRateErrors}`);

    say(`phase 2: ${COUNT} visits, ${CONCURRENCY} in flight`);
    mark('phase2');
    const saturated: number[] = [];
    let sent = 0;
    let failures = 0;
    const phase2Start = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (sent < COUNT) {
          sent++;
          const visit = nextVisit();
          const t = performance.now();
          try {
            await post(baseUrl, visit.path, investigator, visit.body);
            saturated.push(performance.now() - t);
          } catch (error) {
            if (failures++ === 0) say(`  first error: ${String(error)}`);
          }
        }
      }),
    );
    mark('phase2-end');
    const visitsPerSecond = round(saturated.length / ((performance.now() - phase2Start) / 1000));
    const closed = summary(saturated);
    say(`  ${visitsPerSecond} visits/s, p50 ${closed.p50} ms, p99 ${closed.p99} ms, errors ${failures}`);

    // The platform's floor on this machine: the same client, token and service answering a request that does the
    // least a command can (one indexed read of the trial's new events, none; the cached trial as JSON), in flight as
    // phase 2. A visit cannot be faster than this; the gap between the two is the visit's own work.
    say(`phase 3 (floor): ${COUNT} GET /v1/trials/{id}, ${CONCURRENCY} in flight`);
    const floorTimes: number[] = [];
    let floorSent = 0;
    mark('phase3');
    const floorStart = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (floorSent < COUNT) {
          floorSent++;
          const t = performance.now();
          await get(baseUrl, `/v1/trials/${trialId}`, investigator);
          floorTimes.push(performance.now() - t);
        }
      }),
    );
    mark('phase3-end');
    if (options.flag('cpu-prof')) say(`phase bounds (monotonic µs): ${marks.join(', ')}`);
    const floorPerSecond = round(floorTimes.length / ((performance.now() - floorStart) / 1000));
    const floor = summary(floorTimes);
    say(`  ${floorPerSecond} requests/s, p50 ${floor.p50} ms, p99 ${floor.p99} ms`);

    const result = {
      bench: 'trials',
      machine: { cpus: cpus().length, node: process.version },
      dataset: { participants: PARTICIPANTS, visitsPerParticipant: VISITS },
      fixedRate: {
        rate: RATE,
        seconds: SECONDS,
        achievedPerSecond: round(total / phase1Seconds),
        latencyMs: fixed,
        errors,
      },
      floorAtRate: { rate: RATE, latencyMs: fixedFloor, errors: floorAtRateErrors },
      service,
      saturation: { concurrency: CONCURRENCY, visitsPerSecond, latencyMs: closed, errors: failures },
      floor: { concurrency: CONCURRENCY, requestsPerSecond: floorPerSecond, latencyMs: floor },
      target: {
        perSecond: TARGET_PER_SECOND,
        p99Ms: TARGET_P99_MS,
        throughputMet: visitsPerSecond >= TARGET_PER_SECOND && failures === 0,
        p99Met: fixed.p99 <= TARGET_P99_MS && errors === 0,
      },
    };
    process.stdout.write(
      [
        '',
        '| measure | value |',
        '| ------- | ----- |',
        `| visits with compensation at ${RATE}/s, p50 / p99 / max | ${fixed.p50} / ${fixed.p99} / ${fixed.max} ms (target p99 ≤ ${TARGET_P99_MS} ms: ${result.target.p99Met ? 'met' : 'MISSED'}) |`,
        `| achieved rate, errors | ${result.fixedRate.achievedPerSecond} visits/s, ${errors} |`,
        `| floor at ${RATE}/s: GET of the trial, p50 / p99 / max | ${fixedFloor.p50} / ${fixedFloor.p99} / ${fixedFloor.max} ms |`,
        `| floor: GET of the trial (${CONCURRENCY} in flight) | ${floorPerSecond} requests/s, p50 ${floor.p50} ms, p99 ${floor.p99} ms |`,
        `| saturation (${CONCURRENCY} in flight) | ${visitsPerSecond} visits/s (target ≥ ${TARGET_PER_SECOND}: ${result.target.throughputMet ? 'met' : 'MISSED'}), p50 ${closed.p50} ms, p99 ${closed.p99} ms |`,
        '',
        '',
      ].join('\n'),
    );
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });
}

run(main);

/**
 * Scenario `hostile-input` (issue 17): generated hostile inputs at every HTTP endpoint of the four built services
 * (enumerated from each one's OpenAPI document) and at every topic they consume, from a seeded generator
 * (hostile.ts: `--seed` replays a run). HTTP: malformed JSON, wrong types, oversized bodies, deep nesting, unicode
 * edge cases, injection strings, prototype pollution, bad path parameters and query strings, wrong content types;
 * with a token of the service's audience and a role the route admits (so inputs reach the handlers), some without
 * one or with another service's. Counted: 5xx, crashes (exits nobody asked for), connections cut or hung, and
 * refusals without a stable code (problem+json `code`, or records' OperationOutcome code). Kafka: undecodable,
 * wrong-envelope, oversized, deeply nested, forged and polluted messages on the ledger's three public-event topics,
 * ledger.BlockSealed and the diagnostics topic; each undecodable one must be dead-lettered with a reason code by
 * every consumer of the topic, and a genuine message after them still processed (sealed; a receipt block recorded by
 * records, trials and supply; a ping answered by all four).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Admin, Consumer, KafkaMessage } from 'kafkajs';
import { Client } from 'pg';
import { DIAGNOSTICS_TOPIC, LEDGER_BLOCKS_TOPIC } from '@medledger/contracts';
import { ed25519PublicKeyFromSeed } from '@medledger/ledger-core';
import { mintToken, SERVICE_ROLES, type ActorRole } from '@medledger/platform';
import { groupProgress, round, sleep, startCaughtUp } from '../common';
import { byTopic, createProducers, prepareEvents } from '../ledger-harness';
import {
  connectKafka,
  createTopics,
  freshDatabase,
  LedgerUnderTest,
  say,
  SERVICES,
  startApp,
  topicsOf,
  type AppProcess,
  type ChaosContext,
  type Producers,
  type ScenarioResult,
  type Service,
} from './harness';
import {
  endpointsOf,
  hostileMessage,
  hostileRequest,
  Rng,
  type Endpoint,
  type HostileMessage,
  type OpenApiDocument,
} from './hostile';

const ISSUER = 'medledger.chaos';
const NAME = 'hostile';
const CONCURRENCY = 8;
const REQUEST_TIMEOUT_MS = 30_000;
/** A stable code: dotted upper-case words (`HTTP.MALFORMED_JSON`, `FHIR.INVALID_RESOURCE`). */
const STABLE_CODE = /^[A-Z][A-Z0-9_]*(\.[A-Z0-9_]+)+$/;

type App = 'ledger' | Service;

/** A subject of the right resource type for each role (ROLE_SUBJECTS), with an organization where one is read. */
const ACTORS: Partial<Record<ActorRole, { sub: string; org?: string }>> = {
  patient: { sub: 'Patient/chaos-patient' },
  practitioner: { sub: 'Practitioner/chaos-dr', org: 'Organization/chaos-hospital' },
  'related-person': { sub: 'RelatedPerson/chaos-rp' },
  auditor: { sub: 'Practitioner/chaos-auditor', org: 'Organization/chaos-hospital' },
  'org-admin': { sub: 'Organization/chaos-admin', org: 'Organization/chaos-admin' },
  sponsor: { sub: 'Organization/chaos-sponsor', org: 'Organization/chaos-sponsor' },
  investigator: { sub: 'Practitioner/chaos-inv', org: 'Organization/chaos-site' },
  participant: { sub: 'Patient/chaos-participant' },
  monitor: { sub: 'Organization/chaos-irb', org: 'Organization/chaos-irb' },
  manufacturer: { sub: 'Organization/0950600000008', org: 'Organization/0950600000008' },
  wholesaler: { sub: 'Organization/0614141000005', org: 'Organization/0614141000005' },
  dispenser: { sub: 'Organization/0614141000012', org: 'Organization/0614141000012' },
  regulator: { sub: 'Organization/chaos-regulator', org: 'Organization/chaos-regulator' },
};

interface HttpTally {
  endpoints: number;
  requests: number;
  fiveXx: number;
  unstable: number;
  /** Connections cut or refused, and requests without an answer in REQUEST_TIMEOUT_MS. */
  cut: number;
  hung: number;
  accepted: number;
  refused: number;
  /** Endpoints no role of the service reaches past the role guard. */
  guarded: number;
  codes: Map<string, number>;
  problems: string[];
  seconds: number;
}

export async function hostileInput(context: ChaosContext): Promise<ScenarioResult> {
  const perEndpoint = context.number('hostile-requests', context.short ? 12 : 10_000);
  const perTopic = context.number('hostile-messages', context.short ? 60 : 10_000);
  const seed = String(context.number('seed', randomInt(1, 2 ** 31)));
  say(`hostile-input: seed ${seed} (--seed ${seed} replays it), ${perEndpoint}/endpoint, ${perTopic}/topic`);
  const starting = performance.now();
  const stack = await startStack(context);
  say(
    `hostile-input: ledger, records, trials and supply healthy after ${round((performance.now() - starting) / 1000)} s`,
  );
  const started = performance.now();

  // 1. HTTP, the four services at once (each its own generator, seeded from the run's seed and its name, so a seed
  // draws the same inputs per service whatever the interleaving): each service's thread is busy at the same time,
  // on both cores, which makes the full size about half as long as one service after the other.
  const http = {} as Record<App, HttpTally>;
  await Promise.all(
    (['ledger', ...SERVICES] as const).map(async (app) => {
      http[app] = await attackHttp(stack, app, perEndpoint, new Rng(`${seed}/${app}`));
    }),
  );
  for (const app of ['ledger', ...SERVICES] as const) {
    const t = http[app];
    say(
      `hostile-input: ${app}: ${t.requests} requests over ${t.endpoints} endpoints in ${round(t.seconds)} s: ` +
        `5xx ${t.fiveXx}, without a stable code ${t.unstable}, cut ${t.cut}, hung ${t.hung}, ` +
        `accepted ${t.accepted}, refused ${t.refused} (${topCodes(t.codes)})` +
        (t.guarded ? `; ${t.guarded} endpoints no role reaches` : ''),
    );
  }

  // 2. Kafka.
  const kafka = await attackKafka(stack, perTopic, new Rng(`${seed}/kafka`));

  // 3. Still alive: no exit nobody asked for, every /health answering.
  const crashes: string[] = [];
  for (const service of stack.all) {
    crashes.push(...service.exits.map((exit) => `${service.app}: ${exit}`));
    const healthy = await fetch(`${service.baseUrl}/health`, { signal: AbortSignal.timeout(10_000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (!healthy) crashes.push(`${service.app}: /health fails after the run`);
  }
  const seconds = (performance.now() - started) / 1000;
  const totals = Object.values(http).reduce(
    (sum, t) => ({
      requests: sum.requests + t.requests,
      fiveXx: sum.fiveXx + t.fiveXx,
      unstable: sum.unstable + t.unstable,
      cut: sum.cut + t.cut,
      hung: sum.hung + t.hung,
      endpoints: sum.endpoints + t.endpoints,
    }),
    { requests: 0, fiveXx: 0, unstable: 0, cut: 0, hung: 0, endpoints: 0 },
  );
  const ok =
    totals.fiveXx === 0 &&
    totals.unstable === 0 &&
    totals.cut === 0 &&
    totals.hung === 0 &&
    crashes.length === 0 &&
    kafka.missing === 0 &&
    kafka.withoutReason === 0 &&
    kafka.stuck.length === 0;
  const perService = (['ledger', ...SERVICES] as const)
    .map((app) => `${app} ${http[app].requests}/${http[app].endpoints} endpoints 5xx ${http[app].fiveXx}`)
    .join(', ');
  return {
    pass: ok,
    summary:
      `HTTP: ${totals.requests} hostile requests (${perEndpoint} per endpoint; ${perService}): 5xx ${totals.fiveXx}, ` +
      `without a stable code ${totals.unstable}, cut ${totals.cut}, hung ${totals.hung}; Kafka: ${kafka.sent} hostile ` +
      `messages on ${kafka.topics} topics (${perTopic} each): undecodable ones not dead-lettered ${kafka.missing}, ` +
      `dead letters without a reason code ${kafka.withoutReason}, consumers stuck ${kafka.stuck.length}; ` +
      `crashes ${crashes.length}; seed ${seed}; ${round(seconds)} s`,
    figures: {
      seed,
      perEndpoint,
      perTopic,
      ...Object.fromEntries(
        (['ledger', ...SERVICES] as const).flatMap((app) => [
          [`${app}Endpoints`, http[app].endpoints],
          [`${app}Requests`, http[app].requests],
          [`${app}5xx`, http[app].fiveXx],
          [`${app}Unstable`, http[app].unstable],
          [`${app}Seconds`, round(http[app].seconds)],
        ]),
      ),
      requests: totals.requests,
      fiveXx: totals.fiveXx,
      unstable: totals.unstable,
      cut: totals.cut,
      hung: totals.hung,
      kafkaSent: kafka.sent,
      kafkaDeadLettered: kafka.deadLettered,
      kafkaMissing: kafka.missing,
      kafkaWithoutReason: kafka.withoutReason,
      kafkaStuck: kafka.stuck.join('|'),
      kafkaDrainSeconds: round(kafka.drainSeconds),
      kafkaSeconds: round(kafka.seconds),
      crashes: crashes.length,
      seconds: round(seconds),
    },
    notes: [
      ...crashes.slice(0, 5),
      ...(['ledger', ...SERVICES] as const).flatMap((app) => http[app].problems.slice(0, 6)),
      ...kafka.problems.slice(0, 10),
    ],
  };
}

// ------------------------------------------------------------------------------------------------ the stack

interface Stack {
  context: ChaosContext;
  ledger: LedgerUnderTest;
  apps: Record<Service, AppProcess>;
  all: AppProcess[];
  databases: Record<Service, string>;
  producers: Producers;
  topics: Record<Service, string>;
  kafka: Awaited<ReturnType<typeof connectKafka>>;
  authSeed: Buffer;
}

/** The ledger sealing the three services' topics, and records, trials and supply with their receipts from it. */
async function startStack(context: ChaosContext): Promise<Stack> {
  const topics = topicsOf(`chaos.${context.suffix}.${NAME}`);
  const kafka = await connectKafka(context, `chaos-${NAME}-${context.suffix}`);
  await createTopics(context, kafka.admin, Object.values(topics));
  // The services' own event keys, which the scenario also signs its genuine messages with.
  const eventSeeds = Object.fromEntries(SERVICES.map((s) => [s, randomBytes(32)])) as Record<Service, Buffer>;
  const producers: Producers = createProducers(eventSeeds);
  const origin = `chaos.${context.suffix}/${NAME}`;
  const ledgerDb = await freshDatabase(context, 'ledger', NAME);
  await startCaughtUp(context.brokers, `chaos-ledger-diag-${NAME}-${context.suffix}`, [DIAGNOSTICS_TOPIC]);
  const ledger = await LedgerUnderTest.start(context, NAME, {
    databaseUrl: ledgerDb,
    topics: Object.values(topics),
    producerKeys: producers.verifierKeys,
    origin,
    env: { LEDGER_BLOCK_MAX_AGE_MS: '50' },
  });
  const authSeed = randomBytes(32);
  const databases = {} as Record<Service, string>;
  const apps = {} as Record<Service, AppProcess>;
  const group = (app: Service) => `chaos-${app}-${NAME}-${context.suffix}`;
  await Promise.all(
    SERVICES.map(async (app) => {
      databases[app] = await freshDatabase(context, app, NAME);
      await startCaughtUp(context.brokers, group(app), [LEDGER_BLOCKS_TOPIC, DIAGNOSTICS_TOPIC]);
    }),
  );
  // One after the other: each takes the first free port it finds, which the one before must have bound.
  for (const app of SERVICES) {
    apps[app] = await startApp(context, app, NAME, {
      DATABASE_URL: databases[app],
      KAFKA_GROUP_ID: group(app),
      KAFKA_CLIENT_ID: group(app),
      EVENT_SIGNING_KEY: eventSeeds[app].toString('base64'),
      ...(app === 'records' && { RECORDS_MASTER_KEY: randomBytes(32).toString('base64') }),
      PUBLIC_EVENTS_TOPIC: topics[app],
      LEDGER_URL: ledger.baseUrl,
      LEDGER_VERIFIER_KEYS: ledger.verifierKey,
      LEDGER_ORIGIN: origin,
      AUTH_PUBLIC_KEYS: Buffer.from(ed25519PublicKeyFromSeed(authSeed)).toString('base64'),
      AUTH_ISSUER: ISSUER,
    });
  }
  const all = [ledger, apps.records, apps.trials, apps.supply];
  // From now on an exit is a crash: counted, and the process restarted as its supervisor would.
  for (const service of all) service.supervise();
  return { context, ledger, apps, all, databases, producers, topics, kafka, authSeed };
}

// ------------------------------------------------------------------------------------------------ HTTP

async function attackHttp(stack: Stack, app: App, perEndpoint: number, rng: Rng): Promise<HttpTally> {
  const service = app === 'ledger' ? stack.ledger : stack.apps[app];
  const document = await service.json<OpenApiDocument>('/docs/openapi.json');
  // /health takes no input, and answers 503 whenever a dependency is slow (a loaded machine): it is the liveness
  // probe here, not a target.
  const endpoints = endpointsOf(app, document, 'application/json')
    .filter((e) => e.path !== '/health')
    .map((e) => (app === 'records' && e.path.startsWith('/fhir') ? { ...e, contentType: 'application/fhir+json' } : e));
  const tally: HttpTally = {
    endpoints: endpoints.length,
    requests: 0,
    fiveXx: 0,
    unstable: 0,
    cut: 0,
    hung: 0,
    accepted: 0,
    refused: 0,
    guarded: 0,
    codes: new Map(),
    problems: [],
    seconds: 0,
  };
  const roles: readonly ActorRole[] = app === 'ledger' ? [] : SERVICE_ROLES[app];
  const tokens = new Map<ActorRole, string>();
  for (const role of roles) {
    const actor = ACTORS[role] ?? { sub: 'Organization/chaos' };
    tokens.set(
      role,
      await mintToken(stack.authSeed, {
        sub: actor.sub,
        role,
        ...(actor.org && { org: actor.org }),
        issuer: ISSUER,
        audience: `medledger-${app}`,
        expiresIn: '4h',
      }),
    );
  }
  const foreign = await mintToken(stack.authSeed, {
    sub: 'Organization/chaos-foreign',
    role: 'org-admin',
    org: 'Organization/chaos-foreign',
    issuer: ISSUER,
    audience: app === 'records' ? 'medledger-supply' : 'medledger-records',
    expiresIn: '4h',
  });
  // The roles each route's guard admits: a plain request per role, kept where it is not refused for the role.
  const admitted = new Map<Endpoint, string[]>();
  for (const endpoint of endpoints) {
    const passing: string[] = [];
    for (const [role, token] of tokens) {
      const response = await send(service, {
        method: endpoint.method,
        url: endpoint.path.replace(/\{([^}]+)\}/g, (_, name: string) => (name === 'type' ? 'Patient' : rng.uuid())),
        headers: {
          authorization: `Bearer ${token}`,
          ...(endpoint.hasBody && { 'content-type': endpoint.contentType }),
        },
        body: endpoint.hasBody ? Buffer.from(JSON.stringify(endpoint.base)) : undefined,
      }).catch(() => undefined);
      if (response && !(response.status === 403 && response.code === 'AUTH.FORBIDDEN_ROLE')) passing.push(token);
      void role;
    }
    if (roles.length > 0 && passing.length === 0) tally.guarded++;
    admitted.set(endpoint, passing.length ? passing : [...tokens.values()]);
  }

  const started = performance.now();
  const jobs = endpoints.flatMap((endpoint) => Array.from({ length: perEndpoint }, () => endpoint));
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const endpoint = jobs[next++] as Endpoint;
      const request = hostileRequest(
        rng,
        endpoint,
        app === 'records' && endpoint.method === 'POST' && endpoint.path === '/fhir',
      );
      const tokenChoice = rng.next();
      if (roles.length > 0) {
        if (tokenChoice < 0.85) request.headers['authorization'] = `Bearer ${rng.pick(admitted.get(endpoint) ?? [])}`;
        else if (tokenChoice < 0.92) request.headers['authorization'] = `Bearer ${foreign}`;
      }
      tally.requests++;
      const what = `${request.kind} ${request.method} ${request.url.slice(0, 120)}`;
      try {
        const response = await send(service, request);
        if (response.status >= 500) {
          tally.fiveXx++;
          if (tally.problems.length < 20)
            tally.problems.push(
              `${app}: ${response.status} ${response.code ?? ''} on ${what} (request ${response.requestId})`,
            );
        } else if (response.status >= 400) {
          tally.refused++;
          if (response.code && STABLE_CODE.test(response.code)) {
            tally.codes.set(response.code, (tally.codes.get(response.code) ?? 0) + 1);
          } else {
            tally.unstable++;
            if (tally.problems.length < 20)
              tally.problems.push(
                `${app}: ${response.status} without a stable code on ${what}: ${response.text.slice(0, 160)}`,
              );
          }
        } else tally.accepted++;
      } catch (error) {
        const hung = (error as Error).name === 'TimeoutError';
        if (hung) tally.hung++;
        else tally.cut++;
        if (tally.problems.length < 20)
          tally.problems.push(`${app}: ${hung ? 'no answer' : `cut (${causeOf(error)})`} on ${what}`);
        // A process that died is restarted by its supervision; wait for it before going on.
        await waitHealthy(service);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  tally.seconds = (performance.now() - started) / 1000;
  return tally;
}

interface Answer {
  status: number;
  code?: string;
  requestId?: string;
  text: string;
}

async function send(
  service: AppProcess,
  request: { method: string; url: string; headers: Record<string, string>; body?: Buffer },
): Promise<Answer> {
  const response = await fetch(service.baseUrl + request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.body !== undefined && request.method !== 'GET' && request.method !== 'HEAD' && { body: request.body }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  let code: string | undefined;
  let requestId: string | undefined;
  if (response.status >= 400) {
    try {
      const body = JSON.parse(text) as {
        code?: unknown;
        requestId?: unknown;
        resourceType?: unknown;
        issue?: Array<{ code?: unknown; details?: { coding?: Array<{ code?: unknown }> } }>;
      };
      if (type.includes('application/problem+json') && typeof body.code === 'string') code = body.code;
      // records: a FHIR OperationOutcome carries the stable code in its issue's details.coding.
      else if (type.includes('application/fhir+json') && body.resourceType === 'OperationOutcome') {
        const coded = body.issue?.[0]?.details?.coding?.[0]?.code;
        if (typeof coded === 'string') code = coded;
      }
      if (typeof body.requestId === 'string') requestId = body.requestId;
    } catch {
      // not JSON: no code
    }
  }
  return { status: response.status, text, ...(code && { code }), ...(requestId && { requestId }) };
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

async function waitHealthy(service: AppProcess): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`${service.baseUrl}/health`, { signal: AbortSignal.timeout(2_000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    await sleep(250);
  }
}

function topCodes(codes: Map<string, number>, n = 6): string {
  return (
    [...codes]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([code, count]) => `${code} ${count}`)
      .join(', ') || 'none'
  );
}

// ------------------------------------------------------------------------------------------------ Kafka

interface KafkaTally {
  topics: number;
  sent: number;
  deadLettered: number;
  /** Undecodable messages some consumer of their topic did not dead-letter. */
  missing: number;
  withoutReason: number;
  /** Consumers that did not process the genuine message sent after the hostile ones. */
  stuck: string[];
  /** Seconds until every consumer of the diagnostics topic had committed past the hostile messages. */
  drainSeconds: number;
  problems: string[];
  seconds: number;
}

interface Collected {
  topic: string;
  message: KafkaMessage;
}

async function attackKafka(stack: Stack, perTopic: number, rng: Rng): Promise<KafkaTally> {
  const { context, kafka, topics, ledger } = stack;
  const started = performance.now();
  const consumed: Array<{ topic: string; consumers: App[] }> = [
    ...SERVICES.map((s) => ({ topic: topics[s], consumers: ['ledger'] as App[] })),
    { topic: LEDGER_BLOCKS_TOPIC, consumers: [...SERVICES] },
    { topic: DIAGNOSTICS_TOPIC, consumers: ['ledger', ...SERVICES] },
  ];
  const deadLetterTopics = consumed.map((c) => `${c.topic}.dlq`);
  await kafka.admin
    .createTopics({
      topics: deadLetterTopics.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })),
      waitForLeaders: true,
    })
    .catch(() => undefined);
  // A reader from now on: the announcements and pings to copy, and the dead letters.
  const readerGroup = `chaos-${NAME}-reader-${context.suffix}`;
  await startCaughtUp(context.brokers, readerGroup, [LEDGER_BLOCKS_TOPIC, DIAGNOSTICS_TOPIC, ...deadLetterTopics]);
  const collected: Collected[] = [];
  const reader: Consumer = kafka.kafka.consumer({ groupId: readerGroup, maxBytes: 64 * 1024 * 1024 });
  await reader.connect();
  context.cleanups.push(() => reader.disconnect());
  await reader.subscribe({
    topics: [LEDGER_BLOCKS_TOPIC, DIAGNOSTICS_TOPIC, ...deadLetterTopics],
    fromBeginning: true,
  });
  await reader.run({ eachMessage: async ({ topic, message }) => void collected.push({ topic, message }) });

  // Genuine messages of each topic, to break: an event of each service, its block's announcement, a ping.
  const genuine = prepareEvents(stack.producers, 3, 1);
  await kafka.producer.sendBatch({ topicMessages: byTopic(topics, genuine) });
  await ledger.waitForTreeSize(3);
  const ping = await pingFrom(stack.apps.records);
  const block = await waitFor(
    () =>
      collected.find((c) => c.topic === LEDGER_BLOCKS_TOPIC && String(c.message.value).includes(ledger.options.origin)),
    60_000,
    'the ledger announcing its first block',
  );
  const pingMessage = await waitFor(
    () => collected.find((c) => c.topic === DIAGNOSTICS_TOPIC && String(c.message.value).includes(ping)),
    30_000,
    'the ping on the diagnostics topic',
  );
  const receiptsBefore = await Promise.all(SERVICES.map((s) => receiptsConsumed(stack.databases[s])));
  const templates = new Map<string, Record<string, unknown>>([
    ...SERVICES.map(
      (s, i) =>
        [topics[s], JSON.parse(String((genuine[i] as (typeof genuine)[number]).message.value))] as [
          string,
          Record<string, unknown>,
        ],
    ),
    [LEDGER_BLOCKS_TOPIC, JSON.parse(String(block.message.value)) as Record<string, unknown>],
    [DIAGNOSTICS_TOPIC, JSON.parse(String(pingMessage.message.value)) as Record<string, unknown>],
  ]);

  // The hostile messages, all on partition 0 of each topic, remembered by offset.
  const sent = new Map<string, HostileMessage>();
  for (const { topic } of consumed) {
    const template = templates.get(topic) as Record<string, unknown>;
    let batch: HostileMessage[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const [meta] = await kafka.producer.send({
        topic,
        messages: batch.map((m) => ({
          partition: 0,
          key: m.key,
          value: m.value,
          ...(m.headers && { headers: m.headers }),
        })),
      });
      const base = BigInt(meta?.baseOffset ?? '0');
      batch.forEach((m, i) => sent.set(`${topic}|${base + BigInt(i)}`, m));
      batch = [];
      bytes = 0;
    };
    for (let i = 0; i < perTopic; i++) {
      const message = hostileMessage(rng, template);
      const size = (message.value?.length ?? 0) + 100;
      if (bytes + size > 800_000) await flush();
      batch.push(message);
      bytes += size;
    }
    await flush();
  }
  say(`hostile-input: ${sent.size} hostile messages published on ${consumed.length} topics`);

  // Genuine messages after them, which every consumer must still process.
  const stuck: string[] = [];
  const after = prepareEvents(stack.producers, 3, 1);
  await kafka.producer.sendBatch({ topicMessages: byTopic(topics, after) });
  try {
    await ledger.waitForTreeSize(6, 120_000);
  } catch {
    stuck.push(`ledger: the events sent after the hostile ones were not sealed (tree ${await ledger.treeSize()})`);
  }
  // Each consumer works through the hostile backlog (each undecodable message is dead-lettered, one send each) before
  // a ping can be answered: wait for every diagnostics group to reach the topic's end, allowing 20 ms a message.
  const groups = stack.all.map((service) => service.consumerGroup);
  const drain = await drainedIn(kafka.admin, groups, DIAGNOSTICS_TOPIC, 60_000 + perTopic * 20);
  if (drain.lagging.length > 0)
    stuck.push(`not through the hostile diagnostics after ${round(drain.seconds)} s: ${drain.lagging.join(', ')}`);
  else say(`hostile-input: every consumer through the ${perTopic} hostile diagnostics in ${round(drain.seconds)} s`);
  const answered = await answersTo(stack.apps.records, 60_000);
  for (const app of ['ledger', 'trials', 'supply'] as const)
    if (!answered.includes(app)) stuck.push(`${app}: did not answer a ping sent after the hostile diagnostics`);
  if (answered.length === 0) stuck.push('records: collected no answer to its ping');
  for (const [i, app] of SERVICES.entries()) {
    const deadline = Date.now() + 60_000;
    let now = await receiptsConsumed(stack.databases[app]);
    while (now <= (receiptsBefore[i] as number) && Date.now() < deadline) {
      await sleep(250);
      now = await receiptsConsumed(stack.databases[app]);
    }
    if (now <= (receiptsBefore[i] as number))
      stuck.push(`${app}: recorded no ledger.BlockSealed announced after the hostile ones`);
  }

  // The dead letters: every consumer of a topic dead-letters each undecodable message with a reason code.
  const expected = [...sent].filter(([, m]) => m.mustDeadLetter).length;
  const consumersOf = new Map(consumed.map((c) => [c.topic, c.consumers]));
  const wanted = [...sent]
    .filter(([, m]) => m.mustDeadLetter)
    .reduce((n, [key]) => n + (consumersOf.get(key.split('|')[0] as string)?.length ?? 0), 0);
  const deadLetters = () =>
    collected.filter(
      (c) =>
        c.topic.endsWith('.dlq') &&
        header(c.message, 'dlq-original-partition') === '0' &&
        sent.has(`${header(c.message, 'dlq-original-topic')}|${header(c.message, 'dlq-original-offset')}`),
    );
  const deadline = Date.now() + 60_000;
  let seen = -1;
  while (Date.now() < deadline) {
    const now = deadLetters().length;
    if (now >= wanted && now === seen) break;
    seen = now;
    await sleep(1_000);
  }
  const letters = deadLetters();
  const byKey = new Map<string, Set<string>>();
  let withoutReason = 0;
  const problems: string[] = [];
  const reasons = new Map<string, number>();
  for (const letter of letters) {
    const key = `${header(letter.message, 'dlq-original-topic')}|${header(letter.message, 'dlq-original-offset')}`;
    const by = header(letter.message, 'dlq-service') ?? '?';
    (byKey.get(key) ?? byKey.set(key, new Set()).get(key))?.add(by);
    const code = header(letter.message, 'dlq-reason-code');
    if (!code || !STABLE_CODE.test(code)) {
      withoutReason++;
      if (problems.length < 10) problems.push(`dead letter of ${key} by ${by} without a stable reason code: ${code}`);
    } else reasons.set(code, (reasons.get(code) ?? 0) + 1);
  }
  let missing = 0;
  for (const [key, message] of sent) {
    if (!message.mustDeadLetter) continue;
    const topic = key.split('|')[0] as string;
    for (const consumer of consumersOf.get(topic) ?? []) {
      if (byKey.get(key)?.has(consumer)) continue;
      missing++;
      if (problems.length < 10) problems.push(`${consumer}: ${message.kind} at ${key} not dead-lettered`);
    }
  }
  const tally: KafkaTally = {
    topics: consumed.length,
    sent: sent.size,
    deadLettered: letters.length,
    missing,
    withoutReason,
    stuck,
    drainSeconds: drain.seconds,
    problems: [...stuck, ...problems],
    seconds: (performance.now() - started) / 1000,
  };
  for (const { topic, consumers } of consumed) {
    const mine = [...sent].filter(([key]) => key.startsWith(`${topic}|`));
    const letterCount = letters.filter((l) => header(l.message, 'dlq-original-topic') === topic).length;
    say(
      `hostile-input: ${topic} (${consumers.join(', ')}): ${mine.length} hostile, ` +
        `${mine.filter(([, m]) => m.mustDeadLetter).length} undecodable; ${letterCount} dead letters`,
    );
  }
  say(
    `hostile-input: Kafka: ${sent.size} hostile (${expected} undecodable), ${letters.length} dead letters ` +
      `(${topCodes(reasons)}), missing ${missing}, without a reason code ${withoutReason}, stuck ${stuck.length}`,
  );
  return tally;
}

function header(message: KafkaMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  return value === undefined ? undefined : String(Array.isArray(value) ? value[0] : value);
}

async function waitFor<T>(probe: () => T | undefined, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function pingFrom(service: AppProcess): Promise<string> {
  const response = await fetch(`${service.baseUrl}/v1/diagnostics/pings`, { method: 'POST' });
  if (!response.ok) throw new Error(`POST /v1/diagnostics/pings: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { pingId: string }).pingId;
}

/** The services that answered a ping `service` sends now, waiting until all three others have or `ms` passes. */
async function answersTo(service: AppProcess, ms: number): Promise<string[]> {
  const pingId = await pingFrom(service);
  const deadline = Date.now() + ms;
  let services: string[] = [];
  while (Date.now() < deadline) {
    const view = await service.json<{ answers: Array<{ service: string }> }>(`/v1/diagnostics/pings/${pingId}`);
    services = view.answers.map((a) => a.service);
    if (services.length >= 3) break;
    await sleep(250);
  }
  return services;
}

/** Waits until each of `groups` has committed to the end of `topic`, or `ms` pass: the groups behind, the seconds. */
async function drainedIn(
  admin: Admin,
  groups: readonly string[],
  topic: string,
  ms: number,
): Promise<{ lagging: string[]; seconds: number }> {
  const started = performance.now();
  let lagging: string[] = [...groups];
  while (performance.now() - started < ms) {
    lagging = [];
    for (const groupId of groups) {
      const { committed, end } = await groupProgress(admin, groupId, [topic]);
      if (committed < end) lagging.push(`${groupId} ${end - committed} behind`);
    }
    if (lagging.length === 0) break;
    await sleep(1_000);
  }
  return { lagging, seconds: (performance.now() - started) / 1000 };
}

/** ledger.BlockSealed messages the service's receipts consumer applied (its inbox). */
async function receiptsConsumed(databaseUrl: string): Promise<number> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM es_inbox WHERE consumer = 'receipts'`,
    );
    return Number(rows[0]?.n);
  } finally {
    await client.end();
  }
}

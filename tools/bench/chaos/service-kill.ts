/**
 * Scenario `service-kill`: the built records service (a producing service: transactional outbox, signed batches)
 * is SIGKILLed at random instants while clients append (register patients, four at a time), and started again on the
 * same database each time. Afterwards: every acknowledged command's event (the 201's `X-Medledger-Event-Id`) is
 * committed; every event records committed is published and sealed exactly once (one leaf per event id in the
 * ledger, nothing sealed that records did not commit); every one has a verified receipt. Publications per event
 * (the outbox relay publishes at least once: after a kill it may publish again what it had sent) are reported.
 * trials and supply are not driven yet.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { DIAGNOSTICS_TOPIC, LEDGER_BLOCKS_TOPIC } from '@medledger/contracts';
import { ed25519PublicKeyFromSeed, verifierKey } from '@medledger/ledger-core';
import { mintToken } from '@medledger/platform';
import { round, sleep, startCaughtUp } from '../common';
import {
  connectKafka,
  createTopics,
  freshDatabase,
  LedgerUnderTest,
  say,
  startApp,
  type ChaosContext,
  type ScenarioResult,
} from './harness';

const ISSUER = 'medledger.chaos';
const CLIENTS = 4;

export async function serviceKill(context: ChaosContext): Promise<ScenarioResult> {
  const kills = context.number('service-kills', context.short ? 2 : 10);
  const name = 'svckill';
  const topic = `chaos.${context.suffix}.${name}.records.events`;
  const kafka = await connectKafka(context, `chaos-${name}-${context.suffix}`);
  await createTopics(context, kafka.admin, [topic]);
  const eventSeed = randomBytes(32);
  const origin = `chaos.${context.suffix}/svckill`;
  const ledger = await LedgerUnderTest.start(context, name, {
    databaseUrl: await freshDatabase(context, 'ledger', name),
    topics: [topic],
    producerKeys: [verifierKey('records', ed25519PublicKeyFromSeed(eventSeed))],
    origin,
    env: { LEDGER_BLOCK_MAX_AGE_MS: '50' },
  });
  const authSeed = randomBytes(32);
  const recordsUrl = await freshDatabase(context, 'records', name);
  const groupId = `chaos-records-${name}-${context.suffix}`;
  await startCaughtUp(context.brokers, groupId, [LEDGER_BLOCKS_TOPIC, DIAGNOSTICS_TOPIC]);
  const records = await startApp(context, 'records', name, {
    DATABASE_URL: recordsUrl,
    KAFKA_GROUP_ID: groupId,
    KAFKA_CLIENT_ID: groupId,
    EVENT_SIGNING_KEY: eventSeed.toString('base64'),
    RECORDS_MASTER_KEY: randomBytes(32).toString('base64'),
    PUBLIC_EVENTS_TOPIC: topic,
    LEDGER_URL: ledger.baseUrl,
    LEDGER_VERIFIER_KEYS: ledger.verifierKey,
    LEDGER_ORIGIN: origin,
    AUTH_PUBLIC_KEYS: Buffer.from(ed25519PublicKeyFromSeed(authSeed)).toString('base64'),
    AUTH_ISSUER: ISSUER,
  });
  const token = await mintToken(authSeed, {
    sub: 'Practitioner/chaos-dr',
    role: 'practitioner',
    issuer: ISSUER,
    audience: 'medledger-records',
    expiresIn: '1h',
  });
  const started = performance.now();

  // Clients append until told to stop; a request cut off by a kill is not acknowledged (and may or may not be
  // committed: both are fine, a lost acknowledged one is not).
  const acknowledged = new Set<string>();
  let failedRequests = 0;
  let running = true;
  const client = async () => {
    while (running) {
      try {
        const response = await fetch(`${records.baseUrl}/fhir/Patient`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
          body: JSON.stringify({ resourceType: 'Patient', birthDate: '1970-05-05' }),
        });
        await response.text();
        const eventId = response.headers.get('x-medledger-event-id');
        if (response.status === 201 && eventId) acknowledged.add(eventId);
        else failedRequests++;
      } catch {
        failedRequests++;
        await sleep(100);
      }
    }
  };
  const clients = Array.from({ length: CLIENTS }, client);
  for (let i = 0; i < kills; i++) {
    await sleep(1_000 + Math.random() * 3_000);
    const before = acknowledged.size;
    await records.kill();
    const down = performance.now();
    await records.launch();
    say(
      `service-kill: kill ${i + 1}/${kills} of records after ${before} acknowledged appends, healthy again after ` +
        `${round((performance.now() - down) / 1000, 1)} s`,
    );
  }
  await sleep(2_000);
  running = false;
  await Promise.all(clients);

  // What records committed, sealed by the ledger.
  const pg = new Client({ connectionString: recordsUrl });
  await pg.connect();
  context.cleanups.push(() => pg.end());
  const committed = new Set(
    (await pg.query<{ event_id: string }>('SELECT event_id FROM es_outbox')).rows.map((r) => r.event_id),
  );
  const lostAcknowledged = [...acknowledged].filter((id) => !committed.has(id)).length;
  await ledger.waitForTreeSize(committed.size, 120_000);
  await sleep(2_000);
  const leaves = await ledger.leaves(await ledger.treeSize());
  const sealedCount = new Map<string, number>();
  for (const leaf of leaves) sealedCount.set(leaf.eventId, (sealedCount.get(leaf.eventId) ?? 0) + 1);
  const notSealed = [...committed].filter((id) => !sealedCount.has(id)).length;
  const sealedTwice = [...sealedCount.values()].filter((n) => n > 1).length;
  const sealedNotCommitted = [...sealedCount.keys()].filter((id) => !committed.has(id)).length;
  const publications = await countPublications(kafka, topic, committed.size, context.suffix);
  const republished = [...publications.values()].filter((n) => n > 1).length;
  // Receipts: every committed event proven (the receipt consumer survived the kills too).
  const deadline = Date.now() + 120_000;
  let receipts = 0;
  for (;;) {
    receipts = Number(
      (await pg.query<{ n: string }>('SELECT count(*)::text AS n FROM es_receipt WHERE verified_at IS NOT NULL'))
        .rows[0]?.n,
    );
    if (receipts >= committed.size || Date.now() > deadline) break;
    await sleep(500);
  }
  const seconds = (performance.now() - started) / 1000;
  const ok =
    lostAcknowledged === 0 &&
    notSealed === 0 &&
    sealedTwice === 0 &&
    sealedNotCommitted === 0 &&
    receipts === committed.size;
  return {
    pass: ok,
    summary:
      `records: ${kills} kills during ${acknowledged.size} acknowledged appends (${failedRequests} requests cut off or ` +
      `refused): acknowledged lost ${lostAcknowledged}; ${committed.size} events committed: not sealed ${notSealed}, ` +
      `sealed twice ${sealedTwice}, sealed but not committed ${sealedNotCommitted}; published more than once ` +
      `${republished} (deduplicated by the ledger); verified receipts ${receipts}/${committed.size}; ` +
      `trials, supply: not driven yet; ${round(seconds)} s`,
    figures: {
      service: 'records',
      kills,
      acknowledged: acknowledged.size,
      failedRequests,
      lostAcknowledged,
      committed: committed.size,
      notSealed,
      sealedTwice,
      sealedNotCommitted,
      publishedMoreThanOnce: republished,
      receiptsVerified: receipts,
      seconds: round(seconds),
    },
  };
}

/** How many times each event id was published on `topic` (read from the start until `distinct` ids are seen). */
async function countPublications(
  kafka: Awaited<ReturnType<typeof connectKafka>>,
  topic: string,
  distinct: number,
  suffix: string,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const consumer = kafka.kafka.consumer({ groupId: `chaos-pubs-${suffix}-${randomBytes(3).toString('hex')}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        try {
          const id = (JSON.parse(String(message.value)) as { id?: unknown }).id;
          if (typeof id === 'string') counts.set(id, (counts.get(id) ?? 0) + 1);
        } catch {
          // not an event
        }
      },
    });
    const deadline = Date.now() + 30_000;
    while (counts.size < distinct && Date.now() < deadline) await sleep(250);
    // Late duplicates of what was read: a moment more.
    await sleep(1_000);
  } finally {
    await consumer.disconnect();
  }
  return counts;
}

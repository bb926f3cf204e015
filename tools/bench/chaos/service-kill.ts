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
import { round, sleep } from '../common';
import { type connectKafka, say, type ChaosContext, type ScenarioResult } from './harness';
import { startSealedRecords } from './sealed-records';

const CLIENTS = 4;

export async function serviceKill(context: ChaosContext): Promise<ScenarioResult> {
  const kills = context.number('service-kills', context.short ? 2 : 10);
  const stack = await startSealedRecords(context, 'svckill');
  const { records, ledger, kafka, topic } = stack;
  const started = performance.now();

  // Clients append until told to stop; a request cut off by a kill is not acknowledged (and may or may not be
  // committed: both are fine, a lost acknowledged one is not).
  const acknowledged = new Set<string>();
  let failedRequests = 0;
  let running = true;
  const client = async () => {
    while (running) {
      const eventId = await stack.register();
      if (eventId) acknowledged.add(eventId);
      else failedRequests++;
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
  const committed = await stack.committed();
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
  let receipts = await stack.verifiedReceipts();
  while (receipts < committed.size && Date.now() < deadline) {
    await sleep(500);
    receipts = await stack.verifiedReceipts();
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

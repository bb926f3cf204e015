/**
 * Scenario `service-kill`: each producing service (records, trials, supply; `--services` chooses) is built and sealed
 * by a ledger of its own, SIGKILLed at random instants while four clients append through its HTTP API (records:
 * patient registrations; trials: participants screened, consented, enrolled and their visits; supply: EPCIS
 * documents), and started again on the same database each time. Afterwards, per service: every acknowledged
 * command's events (those its 2xx answer names) are stored; every event the service committed for publication (its
 * outbox) is published and sealed exactly once (one leaf per event id in the ledger, nothing sealed that the
 * service did not commit); every one has a verified receipt. Publications per event (the outbox relay publishes at
 * least once: after a kill it may publish again what it had sent) are reported.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { round, sleep } from '../common';
import { recordsAppender, supplyAppender, trialsAppender, type Appender } from './appenders';
import { type connectKafka, say, type ChaosContext, type ScenarioResult } from './harness';
import { startSealedRecords } from './sealed-records';
import { PRODUCING_SERVICES, startSealedService, type ProducingService, type SealedService } from './sealed-service';

const CLIENTS = 4;

export async function serviceKill(context: ChaosContext): Promise<ScenarioResult> {
  const kills = context.number('service-kills', context.short ? 2 : 10);
  const services = (context.text('services') ?? PRODUCING_SERVICES.join(',')).split(',').filter(Boolean);
  for (const service of services)
    if (!PRODUCING_SERVICES.includes(service as ProducingService))
      throw new Error(`--services: no producing service "${service}" (${PRODUCING_SERVICES.join(', ')})`);
  const results: ServiceResult[] = [];
  for (const service of services as ProducingService[]) {
    say(`service-kill: ${service}`);
    const cleanups = context.cleanups.length;
    try {
      const result = await killService(context, service, kills);
      say(`service-kill: ${result.pass ? 'PASS' : 'FAIL'} ${result.summary}`);
      results.push(result);
    } finally {
      // One service's processes and databases go before the next one's start (the machine is small).
      for (const cleanup of context.cleanups.splice(cleanups).reverse())
        await cleanup().catch((error: unknown) => say(`cleanup: ${(error as Error).message}`));
    }
  }
  const figures: ScenarioResult['figures'] = { kills };
  for (const result of results)
    for (const [name, value] of Object.entries(result.figures)) figures[`${result.service}.${name}`] = value;
  return {
    pass: results.every((r) => r.pass),
    summary: results.map((r) => r.summary).join('; '),
    figures,
  };
}

interface ServiceResult {
  service: ProducingService;
  pass: boolean;
  summary: string;
  figures: Record<string, number>;
}

async function killService(context: ChaosContext, service: ProducingService, kills: number): Promise<ServiceResult> {
  const name = `svckill${service === 'records' ? '' : `-${service}`}`;
  const setupStarted = performance.now();
  let stack: SealedService;
  let appender: Appender;
  if (service === 'records') {
    const records = await startSealedRecords(context, name);
    stack = records;
    appender = recordsAppender(records);
  } else {
    stack = await startSealedService(context, name, service);
    appender = await (service === 'trials' ? trialsAppender : supplyAppender)(stack);
  }
  const { app, ledger, kafka, topic } = stack;
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  const started = performance.now();

  // Clients append until told to stop; a request cut off by a kill is not acknowledged (and may or may not be
  // committed: both are fine, a lost acknowledged one is not).
  const acknowledged = new Set<string>();
  let commands = 0;
  let cutOff = 0;
  const refused = new Map<string, number>();
  let running = true;
  const client = async (n: number) => {
    while (running) {
      const outcome = await appender.append(n);
      if (outcome === undefined) cutOff++;
      else if ('refused' in outcome) refused.set(outcome.refused, (refused.get(outcome.refused) ?? 0) + 1);
      else {
        commands++;
        for (const id of outcome.eventIds) acknowledged.add(id);
      }
    }
  };
  const clients = Array.from({ length: CLIENTS }, (_c, n) => client(n));
  for (let i = 0; i < kills; i++) {
    await sleep(1_000 + Math.random() * 3_000);
    const before = commands;
    await app.kill();
    const down = performance.now();
    await app.launch();
    say(
      `service-kill: kill ${i + 1}/${kills} of ${service} after ${before} acknowledged commands, healthy again ` +
        `after ${round((performance.now() - down) / 1000, 1)} s`,
    );
  }
  await sleep(2_000);
  running = false;
  await Promise.all(clients);

  // What the service stored and committed for publication, sealed by the ledger.
  const stored = await stack.stored();
  const committed = await stack.committed();
  const lostAcknowledged = [...acknowledged].filter((id) => !stored.has(id)).length;
  await ledger.waitForTreeSize(committed.size, 120_000);
  await sleep(2_000);
  const leaves = await ledger.leaves(await ledger.treeSize());
  const sealedCount = new Map<string, number>();
  for (const leaf of leaves) sealedCount.set(leaf.eventId, (sealedCount.get(leaf.eventId) ?? 0) + 1);
  const notSealed = [...committed].filter((id) => !sealedCount.has(id)).length;
  const sealedTwice = [...sealedCount.values()].filter((n) => n > 1).length;
  const sealedNotCommitted = [...sealedCount.keys()].filter((id) => !committed.has(id)).length;
  const publications = await countPublications(kafka, topic, committed.size, context.suffix);
  const notPublished = [...committed].filter((id) => !publications.has(id)).length;
  const republished = [...publications.values()].filter((n) => n > 1).length;
  // Receipts: every committed event proven (the receipt consumer survived the kills too).
  const deadline = Date.now() + 120_000;
  let receipts = await stack.verifiedReceipts();
  while (receipts < committed.size && Date.now() < deadline) {
    await sleep(500);
    receipts = await stack.verifiedReceipts();
  }
  const seconds = (performance.now() - started) / 1000;
  const own = appender.figures?.() ?? {};
  const refusals = [...refused.values()].reduce((a, b) => a + b, 0);
  const refusedText = [...refused].map(([what, n]) => `${n} × ${what}`).join(', ');
  const pass =
    commands > 0 &&
    lostAcknowledged === 0 &&
    notSealed === 0 &&
    notPublished === 0 &&
    sealedTwice === 0 &&
    sealedNotCommitted === 0 &&
    receipts === committed.size;
  return {
    service,
    pass,
    summary:
      `${service}: ${kills} kills during ${commands} acknowledged ${appender.command} (${cutOff} requests cut off, ` +
      `${refusals} refused${refusedText ? `: ${refusedText}` : ''}` +
      `${own['replays'] ? `; ${own['replays']} events answered as replays` : ''}): ` +
      `${acknowledged.size} acknowledged events, lost ${lostAcknowledged}; ${committed.size} public events ` +
      `committed: not published ${notPublished}, not sealed ${notSealed}, sealed twice ${sealedTwice}, sealed but ` +
      `not committed ${sealedNotCommitted}; published more than once ${republished} (deduplicated by the ledger); ` +
      `verified receipts ${receipts}/${committed.size}; set-up ${round(setupSeconds)} s, kills and checks ` +
      `${round(seconds)} s`,
    figures: {
      kills,
      commands,
      acknowledged: acknowledged.size,
      cutOff,
      refused: refusals,
      lostAcknowledged,
      committed: committed.size,
      notPublished,
      notSealed,
      sealedTwice,
      sealedNotCommitted,
      publishedMoreThanOnce: republished,
      receiptsVerified: receipts,
      ...own,
      setupSeconds: round(setupSeconds),
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

/**
 * Scenario `ledger-kill`: the ledger is SIGKILLed at random instants while events stream in, and started again each
 * time on the same database and consumer group. Afterwards every event is in the log exactly once at gap-free
 * indexes, medledger-verify passes the whole chain (with every proof of origin), every block was announced, and
 * every event's receipt (the announcement's block, its proofs endpoint, verifyBlockReceipts with the pinned ledger
 * key, against our own copy of the event) verifies.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BlockSealedMessage, LEDGER_BLOCKS_TOPIC, type BlockSealedData } from '@medledger/contracts';
import { parseVerifierKey, verifyBlockReceipts, type NoteVerifier } from '@medledger/ledger-core';
import { round, sleep } from '../common';
import {
  connectKafka,
  createProducers,
  createTopics,
  freshDatabase,
  LedgerUnderTest,
  prepareEvents,
  publish,
  randomInstants,
  say,
  topicsOf,
  verify,
  type ChaosContext,
  type KafkaHandles,
  type PreparedEvent,
  type ScenarioResult,
} from './harness';

/** At most this many event ids per `GET /v1/blocks/{height}/proofs` (the ledger's MAX_PROOF_EVENTS). */
const PROOFS_PER_REQUEST = 200;
/** After a kill is due (the tree crossed its threshold), a random wait of up to this many ms: mid-block, mid-commit. */
const KILL_JITTER_MS = 150;

export async function ledgerKill(context: ChaosContext): Promise<ScenarioResult> {
  const eventCount = context.number('events', context.short ? 5_000 : 100_000);
  const kills = context.number('kills', context.short ? 2 : 20);
  // Paced so that the stream lasts about as long as the kills and restarts (~12 s each: a restarted member waits
  // for the killed one's Kafka session to end), so that kills land while events still arrive.
  const rate = context.number('rate', Math.max(500, Math.round(eventCount / (kills * 10))));
  const name = 'kill';
  const prefix = `chaos.${context.suffix}.${name}`;
  const topics = topicsOf(prefix);
  const producers = createProducers();
  const kafka = await connectKafka(context, `chaos-${name}-${context.suffix}`);
  await createTopics(context, kafka.admin, Object.values(topics));
  const databaseUrl = await freshDatabase(context, 'ledger', name);
  const origin = `chaos.${context.suffix}/ledger`;

  say(`ledger-kill: signing ${eventCount} events...`);
  const events = prepareEvents(producers, eventCount);
  const ledger = await LedgerUnderTest.start(context, name, {
    databaseUrl,
    topics: Object.values(topics),
    producerKeys: producers.verifierKeys,
    origin,
  });
  say(`ledger-kill: ledger on ${ledger.baseUrl} (log ${ledger.logPath}); ${kills} kills, publishing at ${rate}/s`);

  const started = performance.now();
  // Resolves with the failure, if any, so that a failed publish is not an unhandled rejection meanwhile.
  const publishing = publishPaced(kafka, topics, events, rate).then(
    () => undefined,
    (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
  );
  const thresholds = randomInstants(kills, Math.floor(eventCount * 0.02), Math.floor(eventCount * 0.98));
  const killedAt: number[] = [];
  let midStream = 0;
  for (const [i, threshold] of thresholds.entries()) {
    await ledger.waitForTreeSize(threshold, 120_000);
    await sleep(Math.random() * KILL_JITTER_MS);
    const size = await ledger.treeSize();
    await ledger.kill();
    killedAt.push(size);
    if (size < eventCount) midStream++;
    const down = performance.now();
    await ledger.launch();
    say(
      `ledger-kill: kill ${i + 1}/${kills} at tree size ${size}, healthy again after ${round((performance.now() - down) / 1000, 1)} s`,
    );
  }
  const publishFailure = await publishing;
  if (publishFailure) throw publishFailure;
  await ledger.waitForTreeSize(eventCount, 120_000);
  // Anything sealed twice would show as a larger tree: give a late duplicate a moment to appear.
  await sleep(2_000);
  const finalSize = await ledger.treeSize();
  const seconds = (performance.now() - started) / 1000;

  // Lost, duplicated, unexpected, gaps.
  const leaves = await ledger.leaves(finalSize);
  const expected = new Set(events.map((e) => e.id));
  const seen = new Map<string, number>();
  let gaps = 0;
  leaves.forEach((leaf, position) => {
    if (leaf.index !== position) gaps++;
    seen.set(leaf.eventId, (seen.get(leaf.eventId) ?? 0) + 1);
  });
  const lost = [...expected].filter((id) => !seen.has(id)).length;
  const duplicated = [...seen.values()].reduce((sum, n) => sum + n - 1, 0);
  const unexpected = [...seen.keys()].filter((id) => !expected.has(id)).length;

  // The chain, with every proof of origin against the pinned producer keys.
  const dir = mkdtempSync(join(tmpdir(), 'medledger-chaos-'));
  const keyring = join(dir, 'ledger.keys');
  const producerRing = join(dir, 'producers.keys');
  writeFileSync(keyring, `${ledger.verifierKey}\n`);
  writeFileSync(producerRing, `${producers.verifierKeys.join('\n')}\n`);
  const chain = await verify(
    'chain',
    '--url',
    ledger.baseUrl,
    '--keyring',
    keyring,
    '--producer-keys',
    producerRing,
    '--quiet',
  );
  rmSync(dir, { recursive: true, force: true });

  // Announcements and receipts.
  const blocks = await ledger.blocks();
  const announced = await readAnnouncements(kafka, origin, blocks.length, context.suffix);
  const byId = new Map(events.map((e) => [e.id, e]));
  const receipts = await verifyReceipts(ledger, announced.blocks, byId);

  const chainOk = chain.code === 0;
  const ok =
    lost === 0 &&
    duplicated === 0 &&
    unexpected === 0 &&
    gaps === 0 &&
    chainOk &&
    announced.missing === 0 &&
    receipts.verified === eventCount &&
    killedAt.length === kills;
  const notes: string[] = [];
  if (!chainOk) notes.push(`verifier: ${chain.stdout.trim()} ${chain.stderr.trim()}`);
  notes.push(...receipts.failures.slice(0, 3));
  return {
    pass: ok,
    summary:
      `${kills} kills (${midStream} mid-stream) during ${eventCount} events: lost ${lost}, duplicated ${duplicated}, ` +
      `unexpected ${unexpected}, gaps ${gaps}; chain ${chainOk ? 'verifies' : 'FAILS'} (${blocks.length} blocks); ` +
      `blocks announced ${blocks.length - announced.missing}/${blocks.length} (${announced.duplicates} announced twice); ` +
      `receipts verified ${receipts.verified}/${eventCount}; ${round(seconds)} s`,
    figures: {
      events: eventCount,
      kills,
      killsMidStream: midStream,
      publishRatePerSec: rate,
      lost,
      duplicated,
      unexpected,
      gaps,
      chainVerifies: chainOk,
      blocks: blocks.length,
      blocksNotAnnounced: announced.missing,
      announcementsRepeated: announced.duplicates,
      receiptsVerified: receipts.verified,
      receiptsFailed: receipts.failures.length,
      seconds: round(seconds),
    },
    notes,
  };
}

/** Publishes everything at about `rate` events/s in slices of 100 ms. */
async function publishPaced(
  kafka: KafkaHandles,
  topics: ReturnType<typeof topicsOf>,
  events: readonly PreparedEvent[],
  rate: number,
): Promise<void> {
  const slice = Math.max(1, Math.round(rate / 10));
  const started = performance.now();
  for (let i = 0; i < events.length; i += slice) {
    await publish(kafka.producer, topics, events.slice(i, i + slice), slice);
    const due = ((i + slice) / rate) * 1000 - (performance.now() - started);
    if (due > 0) await sleep(due);
  }
}

/**
 * The ledger's announcements of this run (told apart by the checkpoint origin, unique per run) from the start of the
 * shared blocks topic, read by a fresh consumer group until every block is announced (or 60 s pass).
 */
async function readAnnouncements(
  kafka: KafkaHandles,
  origin: string,
  blockCount: number,
  suffix: string,
): Promise<{ blocks: Map<number, BlockSealedData>; duplicates: number; missing: number }> {
  const blocks = new Map<number, BlockSealedData>();
  let duplicates = 0;
  const consumer = kafka.kafka.consumer({ groupId: `chaos-announcements-${suffix}-${randomBytes(3).toString('hex')}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [LEDGER_BLOCKS_TOPIC], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(String(message.value));
        } catch {
          return;
        }
        const data = BlockSealedMessage.safeParse(parsed);
        if (!data.success || data.data.checkpoint.split('\n')[0] !== origin) return;
        if (blocks.has(data.data.height)) duplicates++;
        else blocks.set(data.data.height, data.data);
      },
    });
    const deadline = Date.now() + 60_000;
    while (blocks.size < blockCount && Date.now() < deadline) await sleep(200);
  } finally {
    await consumer.disconnect();
  }
  return { blocks, duplicates, missing: blockCount - blocks.size };
}

interface ProofsResponse {
  block: Record<string, unknown> & { checkpoint: string };
  proofs: Array<{ index: number; eventId: string; leafData: string; hashes: string[] }>;
  absent: string[];
}

/** Each announced event's receipt, as a producing service checks it before storing it. */
async function verifyReceipts(
  ledger: LedgerUnderTest,
  blocks: Map<number, BlockSealedData>,
  events: Map<string, PreparedEvent>,
): Promise<{ verified: number; failures: string[] }> {
  const parsed = parseVerifierKey(ledger.verifierKey);
  if (!parsed.ok) throw new Error(`the ledger's verifier key does not parse: ${parsed.reason}`);
  const keys: NoteVerifier[] = [parsed.value];
  const work: Array<{ height: number; ids: string[] }> = [];
  for (const [height, block] of blocks) {
    const ids = block.events.map((e) => e.eventId);
    for (let i = 0; i < ids.length; i += PROOFS_PER_REQUEST)
      work.push({ height, ids: ids.slice(i, i + PROOFS_PER_REQUEST) });
  }
  let verified = 0;
  const failures: string[] = [];
  const worker = async () => {
    for (let item = work.pop(); item; item = work.pop()) {
      const response = await ledger.json<ProofsResponse>(
        `/v1/blocks/${item.height}/proofs?events=${item.ids.map(encodeURIComponent).join(',')}`,
      );
      for (const id of response.absent) failures.push(`block ${item.height}: event ${id} announced but absent`);
      const verdict = verifyBlockReceipts(
        {
          block: response.block,
          checkpoint: response.block.checkpoint,
          leaves: response.proofs.map((proof) => ({
            eventId: proof.eventId,
            envelope: events.get(proof.eventId)?.unsigned ?? {},
            leafIndex: proof.index,
            leafData: proof.leafData,
            proof: proof.hashes,
          })),
        },
        keys,
        ledger.options.origin,
      );
      if (verdict.ok) verified += response.proofs.length;
      else failures.push(`block ${item.height}: ${verdict.code} ${verdict.reason} (${verdict.eventId ?? ''})`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return { verified, failures };
}

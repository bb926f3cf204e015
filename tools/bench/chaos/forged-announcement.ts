/**
 * Scenario `forged-announcement`: forged `ledger.BlockSealed` messages at a producing service (the built records
 * service, sealed by the built ledger, its receipts verified against the pinned ledger key). While the ledger is
 * down and some of records' events are not sealed yet, announcements claiming them are published on the blocks
 * topic: signed by a key records does not pin, a genuine checkpoint with another size or root, a genuine block's
 * checkpoint naming our events at indexes they do not have (v2 envelopes and v1 bare messages alike), sealed events
 * moved to other indexes. An announcement whose checkpoint verifies is checked with the ledger, which is down: such
 * a claim may be kept unverified (never a receipt to a reader) until the ledger answers. Then the ledger comes back and seals everything. Target: accepted 0, i.e. every receipt
 * records holds as verified is exactly where the ledger sealed the event (`GET /v1/events/{id}`), and no receipt is
 * verified for an event the ledger does not hold.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { blockSealedEnvelope, LEDGER_BLOCKS_TOPIC, type BlockSealedData } from '@medledger/contracts';
import { createSigner, parseCheckpoint, signCheckpoint, toBase64 } from '@medledger/ledger-core';
import { round, sleep } from '../common';
import { say, type ChaosContext, type connectKafka, type ScenarioResult } from './harness';
import { startSealedRecords } from './sealed-records';

export async function forgedAnnouncement(context: ChaosContext): Promise<ScenarioResult> {
  const perKind = context.number('announcements', context.short ? 10 : 50);
  const name = 'announce';
  // The records-sealed-by-its-ledger setup of service-kill and restarts (sealed-records.ts).
  const sealed = await startSealedRecords(context, name);
  const { kafka, ledger, records } = sealed;
  const origin = `chaos.${context.suffix}/${name}`;
  const pg = new Client({ connectionString: sealed.recordsUrl });
  await pg.connect();
  context.cleanups.push(() => pg.end());
  const started = performance.now();

  const register = async (count: number) => {
    for (let i = 0; i < count; i++)
      if ((await sealed.register()) === undefined) throw new Error('registering a patient was not acknowledged');
  };
  const outbox = async () => [...(await sealed.committed())];
  const verified = () => sealed.verifiedReceipts();
  const waitVerified = async (count: number) => {
    const deadline = Date.now() + 120_000;
    while ((await verified()) < count) {
      if (Date.now() > deadline)
        throw new Error(`records verified ${await verified()} of ${count} receipts:\n${records.output()}`);
      await sleep(200);
    }
  };

  // Sealed and proven first: genuine blocks to copy checkpoints from.
  await register(5);
  const first = await outbox();
  await waitVerified(first.length);
  const genuine = await ledger.json<{
    height: number;
    treeSize: number;
    root: string;
    hash: string;
    checkpoint: string;
  }>('/v1/blocks/latest');

  // The ledger goes down; records' next events wait unsealed, and the forgeries claim them.
  await ledger.stop();
  await register(5);
  await sleep(1_000);
  const unsealed = (await outbox()).filter((id) => !first.includes(id));
  const claims = (ids: readonly string[], from: number) => ids.map((eventId, i) => ({ eventId, index: from + i }));
  const stranger = createSigner(origin, randomBytes(32));
  const strangerCheckpoint = (size: number) =>
    signCheckpoint({ origin, size, root: randomBytes(32), extensions: [] }, [stranger]);
  const data = (overrides: Partial<BlockSealedData>): BlockSealedData => ({
    height: genuine.height + 1,
    treeSize: genuine.treeSize + unsealed.length,
    root: toBase64(randomBytes(32)),
    blockHash: toBase64(randomBytes(32)),
    checkpoint: genuine.checkpoint,
    events: claims(unsealed, genuine.treeSize),
    ...overrides,
  });
  const forged: Array<{ kind: string; value: string }> = [];
  const v2 = (kind: string, block: BlockSealedData) =>
    forged.push({ kind, value: JSON.stringify(blockSealedEnvelope(block, origin, new Date().toISOString())) });
  for (let n = 0; n < perKind; n++) {
    const size = genuine.treeSize + unsealed.length + n;
    const signed = strangerCheckpoint(size);
    const parsed = parseCheckpoint(signed.split('\n\n')[0] + '\n');
    v2(
      'unpinned key',
      data({ treeSize: size, root: parsed.ok ? toBase64(parsed.value.root) : '', checkpoint: signed }),
    );
    // The genuine checkpoint with another size or root than it says.
    v2('genuine checkpoint, other size', data({ treeSize: genuine.treeSize + 1 + n, root: genuine.root }));
    // A genuine block's own checkpoint, size and root, claiming our unsealed events inside it.
    v2(
      'genuine block, our events claimed',
      data({
        height: genuine.height,
        treeSize: genuine.treeSize,
        root: genuine.root,
        blockHash: genuine.hash,
        events: claims(unsealed, Math.max(0, genuine.treeSize - unsealed.length)),
      }),
    );
    const bare = data({
      height: genuine.height,
      treeSize: genuine.treeSize,
      root: genuine.root,
      blockHash: genuine.hash,
    });
    forged.push({
      kind: 'v1 bare, our events claimed',
      value: JSON.stringify({ type: 'ledger.BlockSealed', ...bare, events: claims(unsealed, 0) }),
    });
    // Sealed events moved to other indexes under the genuine block's checkpoint.
    v2(
      'sealed events at other indexes',
      data({
        height: genuine.height,
        treeSize: genuine.treeSize,
        root: genuine.root,
        blockHash: genuine.hash,
        events: claims(first, (n % 3) + 1),
      }),
    );
  }
  say(`forged-announcement: ${unsealed.length} events unsealed, publishing ${forged.length} forged announcements`);
  await kafka.producer.send({
    topic: LEDGER_BLOCKS_TOPIC,
    messages: forged.map((f) => ({ key: randomUUID(), value: f.value })),
  });
  await sleep(5_000);
  const verifiedWhileDown = await verified();

  // The ledger comes back: everything is sealed and proven for real.
  await ledger.launch();
  const all = await outbox();
  await waitVerified(all.length);
  await sleep(1_000);

  // Accepted: a verified receipt that is not where the ledger sealed the event.
  const { rows } = await pg.query<{ event_id: string; leaf_index: string; block_height: string }>(
    'SELECT event_id, leaf_index::text, block_height::text FROM es_receipt WHERE verified_at IS NOT NULL',
  );
  let accepted = 0;
  for (const row of rows) {
    const truth = await fetch(`${ledger.baseUrl}/v1/events/${encodeURIComponent(row.event_id)}`);
    const leaf = truth.ok ? ((await truth.json()) as { index: number; blockHeight: number }) : undefined;
    if (!leaf || leaf.index !== Number(row.leaf_index) || leaf.blockHeight !== Number(row.block_height)) accepted++;
  }
  const dlq = await readDeadLetters(
    kafka,
    forged.map((f) => f.value),
    context.suffix,
  );
  const kinds = [...new Set(forged.map((f) => f.kind))];
  const perKindLine = kinds
    .map((kind) => {
      const own = forged.filter((f) => f.kind === kind);
      const codes = new Set(own.map((f) => dlq.get(f.value)).filter(Boolean));
      return `${kind}: ${own.filter((f) => dlq.has(f.value)).length}/${own.length} dead-lettered ${[...codes].join('|')}`;
    })
    .join('; ');
  const deadLettered = forged.filter((f) => dlq.has(f.value)).length;
  const seconds = (performance.now() - started) / 1000;
  const ok = accepted === 0 && verifiedWhileDown === first.length && rows.length === all.length;
  return {
    pass: ok,
    summary:
      `${forged.length} forged ledger.BlockSealed at records (${kinds.length} kinds) while ${unsealed.length} events ` +
      `waited unsealed: accepted ${accepted}; verified receipts while the ledger was down ${verifiedWhileDown} ` +
      `(before: ${first.length}); after it sealed everything ${rows.length}/${all.length}, each where the ledger has it; ` +
      `dead-lettered ${deadLettered}/${forged.length} (${perKindLine}); ${round(seconds)} s`,
    figures: {
      forged: forged.length,
      accepted,
      deadLettered,
      verifiedWhileDown,
      verifiedBefore: first.length,
      verifiedAfter: rows.length,
      events: all.length,
      seconds: round(seconds),
    },
  };
}

/** Dead letters of the blocks topic whose bytes are one of `values`, with their reason codes (20 s at most). */
async function readDeadLetters(
  kafka: Awaited<ReturnType<typeof connectKafka>>,
  values: readonly string[],
  suffix: string,
): Promise<Map<string, string>> {
  const wanted = new Set(values);
  const found = new Map<string, string>();
  const consumer = kafka.kafka.consumer({ groupId: `chaos-blocks-dlq-${suffix}-${randomBytes(3).toString('hex')}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [`${LEDGER_BLOCKS_TOPIC}.dlq`], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = String(message.value);
        if (wanted.has(value)) found.set(value, String(message.headers?.['dlq-reason-code'] ?? ''));
      },
    });
    const deadline = Date.now() + 20_000;
    while (found.size < wanted.size && Date.now() < deadline) await sleep(250);
  } finally {
    await consumer.disconnect();
  }
  return found;
}

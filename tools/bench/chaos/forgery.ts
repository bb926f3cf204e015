/**
 * Scenario `forgery`: events that a producer did not sign as they arrive, published on the producers' own topics
 * of a running ledger that has sealed their genuine events: forged batch notes, unknown producers (a key the ledger
 * does not pin, a producer that does not exist, another producer's event on this producer's topic), events changed
 * after signing, reordered batches (events swapped within a signed batch), and replays (an event sealed already,
 * again as it was, and another event under its id). Target: accepted 0. Each refusal is a dead letter on the
 * topic's `.dlq` with a stable reason code (identical replays are dropped as the same event delivered again:
 * no leaf, no dead letter).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Message } from 'kafkajs';
import { canonicalize, encodeSignedEvent, generateEd25519KeyPair, OriginSigner } from '@medledger/ledger-core';
import { round, sleep } from '../common';
import {
  connectKafka,
  createProducers,
  createTopics,
  envelope,
  freshDatabase,
  LedgerUnderTest,
  prepareEvents,
  publish,
  say,
  topicsOf,
  type ChaosContext,
  type PreparedEvent,
  type ScenarioResult,
} from './harness';

type Signed = object & { id?: unknown };
interface Forgery {
  kind: string;
  id: string;
  topic: string;
  value: string;
  /** Whether a dead letter is expected (an identical replay is dropped as a redelivery instead). */
  deadLetter: boolean;
}

/** One character of a base64 signature changed (a signature that is not the key's). */
function forgeNote(note: string): string {
  const lines = note.split('\n');
  const last = lines.findLastIndex((line) => line.startsWith('— '));
  const line = lines[last] as string;
  const at = line.length - 10;
  lines[last] = line.slice(0, at) + (line[at] === 'A' ? 'B' : 'A') + line.slice(at + 1);
  return lines.join('\n');
}

export async function forgery(context: ChaosContext): Promise<ScenarioResult> {
  const perKind = context.number('forgeries', context.short ? 50 : 200);
  const name = 'forgery';
  const topics = topicsOf(`chaos.${context.suffix}.${name}`);
  const producers = createProducers();
  const kafka = await connectKafka(context, `chaos-${name}-${context.suffix}`);
  await createTopics(context, kafka.admin, Object.values(topics));
  const databaseUrl = await freshDatabase(context, 'ledger', name);
  const ledger = await LedgerUnderTest.start(context, name, {
    databaseUrl,
    topics: Object.values(topics),
    producerKeys: producers.verifierKeys,
    origin: `chaos.${context.suffix}/forgery`,
  });
  const genuine = prepareEvents(producers, perKind * 3);
  await publish(kafka.producer, topics, genuine);
  await ledger.waitForTreeSize(genuine.length);

  const supply = producers.signers.supply;
  const stranger = new OriginSigner('supply', generateEd25519KeyPair().seed);
  const nobody = new OriginSigner('billing', generateEd25519KeyPair().seed);
  const fresh = (n: number) => Array.from({ length: n }, (_, i) => envelope('supply', 1_000_000 + i));
  const forgeries: Forgery[] = [];
  const add = (kind: string, events: Signed[], topic = topics.supply, deadLetter = true) =>
    forgeries.push(
      ...events.map((event) => ({
        kind,
        id: (event as Record<string, unknown>)['id'] as string,
        topic,
        value: encodeSignedEvent(event),
        deadLetter,
      })),
    );

  add(
    'forged note',
    supply.signBatch(fresh(perKind)).map((e) => ({ ...e, batchnote: forgeNote(e.batchnote) })),
  );
  add('unknown key', stranger.signBatch(fresh(perKind)));
  add('unknown producer', nobody.signBatch(fresh(perKind).map((e) => ({ ...e, source: '/medledger/billing' }))));
  add(
    'wrong topic',
    producers.signers.records.signBatch(Array.from({ length: perKind }, (_, i) => envelope('records', i))),
  );
  add(
    'changed after signing',
    supply.signBatch(fresh(perKind)).map((e) => ({ ...e, data: { ...(e['data'] as object), lot: 'LOT-FORGED' } })),
  );
  // Reordered: each pair of a signed batch swaps places (index and proof stay with the position, not the event).
  const batch = supply.signBatch(fresh(perKind + (perKind % 2)));
  const reordered = batch.map((e, i) => {
    const partner = batch[i % 2 === 0 ? i + 1 : i - 1] as (typeof batch)[number];
    return { ...e, batchindex: partner.batchindex, batchproof: partner.batchproof };
  });
  add('reordered batch', reordered.slice(0, perKind));
  // Replays of sealed events: as they were (dropped as a redelivery) and another event under the same id.
  const sealedSupply = genuine.filter((e) => e.service === 'supply').slice(0, perKind);
  for (const event of sealedSupply) {
    forgeries.push({
      kind: 'replay (same bytes)',
      id: event.id,
      topic: topics.supply,
      value: event.value,
      deadLetter: false,
    });
  }
  add(
    'replay (other content)',
    supply.signBatch(sealedSupply.map((e: PreparedEvent) => ({ ...envelope('supply', 2_000_000), id: e.id }))),
  );

  say(`forgery: ${genuine.length} genuine events sealed; publishing ${forgeries.length} forged ones`);
  const dlqs = [...new Set(forgeries.map((f) => `${f.topic}.dlq`))];
  const deadLetters = new Map<string, string>();
  const consumer = kafka.kafka.consumer({ groupId: `chaos-dlq-${context.suffix}-${randomBytes(3).toString('hex')}` });
  await consumer.connect();
  context.cleanups.push(() => consumer.disconnect());
  await consumer.subscribe({ topics: dlqs, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      try {
        deadLetters.set(String(message.value), String(message.headers?.['dlq-reason-code'] ?? ''));
      } catch {
        // not ours
      }
    },
  });

  const started = performance.now();
  const messages = new Map<string, Message[]>();
  for (const forged of forgeries) {
    const list = messages.get(forged.topic) ?? [];
    list.push({ key: forged.id, value: forged.value });
    messages.set(forged.topic, list);
  }
  await kafka.producer.sendBatch({ topicMessages: [...messages].map(([topic, list]) => ({ topic, messages: list })) });
  // Then genuine events after them on every partition: once these are sealed, everything before them was read.
  const after = prepareEvents(producers, 300);
  await publish(kafka.producer, topics, after);
  await ledger.waitForTreeSize(genuine.length + after.length);
  const expectedLetters = forgeries.filter((f) => f.deadLetter).length;
  const deadline = Date.now() + 30_000;
  while (deadLetters.size < expectedLetters && Date.now() < deadline) await sleep(200);
  await sleep(1_000);
  const size = await ledger.treeSize();

  // Accepted: any forged event's bytes in the log (a replay's original leaf is the genuine one, not a new one).
  const leaves = await ledger.leaves(size);
  // Each sealed event as its canonical bytes, by id: a forged event is accepted when its own bytes are there.
  const sealed = new Map(
    leaves.map((leaf) => {
      const data = JSON.parse(Buffer.from(leaf.leafData, 'base64').toString('utf8')) as { event: object };
      return [leaf.eventId, canonicalize(data.event)];
    }),
  );
  const kinds = [...new Set(forgeries.map((f) => f.kind))];
  const perKindFigures: Record<string, { sent: number; accepted: number; deadLettered: number; codes: string[] }> = {};
  for (const kind of kinds) {
    const own = forgeries.filter((f) => f.kind === kind);
    let accepted = 0;
    let deadLettered = 0;
    const codes = new Set<string>();
    for (const forged of own) {
      if (forged.deadLetter && sealed.get(forged.id) === forged.value) accepted++;
      const code = deadLetters.get(forged.value);
      if (code !== undefined) {
        deadLettered++;
        codes.add(code);
      }
    }
    perKindFigures[kind] = { sent: own.length, accepted, deadLettered, codes: [...codes] };
  }
  const extraLeaves = size - genuine.length - after.length;
  const accepted = Object.values(perKindFigures).reduce((sum, k) => sum + k.accepted, 0) + Math.max(0, extraLeaves);
  const unrefused = kinds.filter((k) => {
    const figures = perKindFigures[k] as { sent: number; deadLettered: number };
    return forgeries.some((f) => f.kind === k && f.deadLetter) && figures.deadLettered !== figures.sent;
  });
  const ok = accepted === 0 && extraLeaves === 0 && unrefused.length === 0;
  return {
    pass: ok,
    summary:
      `${forgeries.length} forged events of ${kinds.length} kinds: accepted ${accepted} (log grew by exactly the ` +
      `${after.length} genuine ones: ${extraLeaves === 0 ? 'yes' : `no, ${extraLeaves} more`}); ` +
      kinds
        .map((k) => {
          const f = perKindFigures[k] as { sent: number; deadLettered: number; codes: string[] };
          return `${k}: ${f.deadLettered}/${f.sent} dead-lettered${f.codes.length ? ` ${f.codes.join('|')}` : ''}`;
        })
        .join('; ') +
      `; ${round((performance.now() - started) / 1000)} s`,
    figures: {
      forged: forgeries.length,
      accepted,
      extraLeaves,
      ...Object.fromEntries(
        kinds.flatMap((k): Array<[string, number | string]> => {
          const f = perKindFigures[k] as { sent: number; accepted: number; deadLettered: number; codes: string[] };
          const key = k.replace(/[^a-z]+/g, '_');
          return [
            [`${key}_accepted`, f.accepted],
            [`${key}_deadLettered`, f.deadLettered],
            [`${key}_codes`, f.codes.join('|')],
          ];
        }),
      ),
    },
    notes: unrefused.map((k) => `${k}: not every one dead-lettered`),
  };
}

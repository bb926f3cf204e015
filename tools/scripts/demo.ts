/**
 * `npm run demo`: drives the running network through its public APIs and prints what happened.
 * Today: every service answers /health; a ping sent by each service crosses Kafka and is answered by every
 * other one (each side persisting what it saw); signed events are sealed by the ledger and each is proven
 * against its signed checkpoint. Later features extend this scenario.
 * Service URLs: LEDGER_URL, RECORDS_URL, TRIALS_URL, SUPPLY_URL (default http://127.0.0.1:310x); KAFKA_BROKERS.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import {
  fromBase64,
  leafHash,
  OriginSigner,
  parseVerifierKey,
  verifyCheckpoint,
  verifyInclusion,
  type NoteVerifier,
} from '@medledger/ledger-core';
import { devProducerSeed } from './dev-keys';
import { say } from './lib';

const DEFAULT_URLS: Record<string, string> = {
  ledger: 'http://127.0.0.1:3100',
  records: 'http://127.0.0.1:3101',
  trials: 'http://127.0.0.1:3102',
  supply: 'http://127.0.0.1:3103',
};
const ANSWER_TIMEOUT_MS = 30_000;

interface PingView {
  pingId: string;
  answers: Array<{ service: string; roundTripMs: number }>;
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url} -> ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

const SEAL_TIMEOUT_MS = 30_000;

/**
 * Step 3: events signed by a producer are sealed by the ledger and proven. Until the records service publishes
 * its own events (the backbone issue), the demo signs with the development records key (.data/keys), exactly
 * as the service will: one signed note per batch, an inclusion proof per event. No PHI: ids and a salted hash.
 */
async function demoLedger(ledgerUrl: string, brokers: string[]): Promise<boolean> {
  const records = new OriginSigner('records', devProducerSeed('records'));
  const events = records.signBatch(
    Array.from({ length: 5 }, () => {
      const patientId = randomUUID();
      return {
        specversion: '1.0',
        id: randomUUID(),
        source: '/medledger/records',
        type: 'records.PatientRegistered',
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        subject: patientId,
        data: { patientId, commitment: createHash('sha256').update(randomUUID()).digest('base64') },
      };
    }),
  );
  const producer = new Kafka({ clientId: 'medledger-demo', brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  try {
    await producer.send({
      topic: PUBLIC_EVENT_TOPICS.records,
      messages: events.map((e) => ({ key: e.subject, value: JSON.stringify(e) })),
    });
  } finally {
    await producer.disconnect();
  }
  say(
    `  published ${events.length} signed events to ${PUBLIC_EVENT_TOPICS.records} (one producer signature for the batch)`,
  );

  const deadline = Date.now() + SEAL_TIMEOUT_MS;
  const sealed: Array<{ index: number; blockHeight: number; leafData: string }> = [];
  for (const event of events) {
    for (;;) {
      const response = await fetch(`${ledgerUrl}/v1/events/${event.id}`);
      if (response.ok) {
        sealed.push((await response.json()) as { index: number; blockHeight: number; leafData: string });
        break;
      }
      if (Date.now() > deadline) {
        say(`  event ${event.id} not sealed within ${SEAL_TIMEOUT_MS} ms`);
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const keys = await json<{ keys: Array<{ verifierKey: string }> }>(`${ledgerUrl}/v1/keys`);
  const verifiers: NoteVerifier[] = keys.keys.flatMap((k) => {
    const parsed = parseVerifierKey(k.verifierKey);
    return parsed.ok ? [parsed.value] : [];
  });
  const checkpoint = verifyCheckpoint(await (await fetch(`${ledgerUrl}/v1/checkpoint`)).text(), verifiers);
  if (!checkpoint.ok) {
    say(`  checkpoint does not verify: ${checkpoint.reason}`);
    return false;
  }
  const { size, root } = checkpoint.checkpoint;
  say(`  signed checkpoint verified: tree size ${size}, root ${Buffer.from(root).toString('base64')}`);
  let ok = true;
  for (const leaf of sealed) {
    const proof = await json<{ hashes: string[] }>(
      `${ledgerUrl}/v1/proofs/inclusion?index=${leaf.index}&treeSize=${size}`,
    );
    const hashes = proof.hashes.map((h) => fromBase64(h) ?? new Uint8Array());
    const verdict = verifyInclusion(
      leafHash(fromBase64(leaf.leafData) ?? new Uint8Array()),
      leaf.index,
      size,
      hashes,
      root,
    );
    say(
      `  leaf ${String(leaf.index).padStart(6)} in block ${leaf.blockHeight}: inclusion proof (${hashes.length} hashes) ${verdict.ok ? 'verified' : `FAILED: ${verdict.reason}`}`,
    );
    ok &&= verdict.ok;
  }
  return ok;
}

export async function runDemo(
  urls: Record<string, string> = DEFAULT_URLS,
  brokers: string[] = ['127.0.0.1:9092'],
): Promise<boolean> {
  const services = Object.keys(urls);
  say('demo 1/3: every service is healthy');
  for (const service of services) {
    const health = await json<{ status: string; details: Record<string, { status: string }> }>(
      `${urls[service]}/health`,
    );
    say(
      `  ${service.padEnd(8)} ${health.status}  (${Object.entries(health.details)
        .map(([k, v]) => `${k} ${v.status}`)
        .join(', ')})`,
    );
  }

  say('demo 2/3: each service pings the others over Kafka');
  let ok = true;
  for (const origin of services) {
    const { pingId, location } = await json<{ pingId: string; location: string }>(
      `${urls[origin]}/v1/diagnostics/pings`,
      { method: 'POST' },
    );
    const others = services.filter((s) => s !== origin);
    const deadline = Date.now() + ANSWER_TIMEOUT_MS;
    let view: PingView = { pingId, answers: [] };
    while (Date.now() < deadline && view.answers.length < others.length) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      view = await json<PingView>(`${urls[origin]}${location}`);
    }
    const answered = view.answers.map((a) => `${a.service} ${a.roundTripMs} ms`).join(', ');
    const missing = others.filter((s) => !view.answers.some((a) => a.service === s));
    say(
      `  ${origin.padEnd(8)} ping ${pingId.slice(0, 8)} answered by ${answered || 'nobody'}${missing.length ? `; MISSING ${missing.join(', ')}` : ''}`,
    );
    if (missing.length) ok = false;
  }
  if (urls['ledger']) {
    say('demo 3/3: the ledger seals signed events and proves each one');
    ok = (await demoLedger(urls['ledger'], brokers)) && ok;
  }
  say(ok ? 'demo: OK' : 'demo: FAILED');
  return ok;
}

if (require.main === module) {
  const urls = Object.fromEntries(
    Object.keys(DEFAULT_URLS).map((s) => [s, process.env[`${s.toUpperCase()}_URL`] ?? (DEFAULT_URLS[s] as string)]),
  );
  const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
  runDemo(urls, brokers).then(
    (ok) => process.exit(ok ? 0 : 1),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}

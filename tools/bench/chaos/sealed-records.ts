/**
 * records sealed by a ledger of its own, as in production: its public topic sealed by the built ledger, its receipts
 * verified against that ledger's pinned key, clients with a practitioner's token. For the scenarios that break the
 * producing side (service-kill, restarts).
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DIAGNOSTICS_TOPIC, LEDGER_BLOCKS_TOPIC } from '@medledger/contracts';
import { ed25519PublicKeyFromSeed, verifierKey } from '@medledger/ledger-core';
import { mintToken } from '@medledger/platform';
import { sleep, startCaughtUp } from '../common';
import {
  connectKafka,
  createTopics,
  freshDatabase,
  LedgerUnderTest,
  startApp,
  type AppProcess,
  type ChaosContext,
  type KafkaHandles,
} from './harness';

const ISSUER = 'medledger.chaos';

export interface SealedRecords {
  topic: string;
  kafka: KafkaHandles;
  ledger: LedgerUnderTest;
  ledgerUrl: string;
  records: AppProcess;
  recordsUrl: string;
  /** Registers a patient; the command's event id when acknowledged (201), else undefined. Never throws. */
  register(): Promise<string | undefined>;
  /** Event ids in records' outbox (everything it committed for publication), in commit order. */
  committed(): Promise<Set<string>>;
  /** Receipts records holds as verified. */
  verifiedReceipts(): Promise<number>;
}

export async function startSealedRecords(context: ChaosContext, name: string): Promise<SealedRecords> {
  const topic = `chaos.${context.suffix}.${name}.records.events`;
  const kafka = await connectKafka(context, `chaos-${name}-${context.suffix}`);
  await createTopics(context, kafka.admin, [topic]);
  const eventSeed = randomBytes(32);
  const origin = `chaos.${context.suffix}/${name}`;
  const ledgerUrl = await freshDatabase(context, 'ledger', name);
  const ledger = await LedgerUnderTest.start(context, name, {
    databaseUrl: ledgerUrl,
    topics: [topic],
    producerKeys: [verifierKey('records', ed25519PublicKeyFromSeed(eventSeed))],
    origin,
    env: { LEDGER_BLOCK_MAX_AGE_MS: '50' },
  });
  const authSeed = randomBytes(32);
  const recordsUrl = await freshDatabase(context, 'records', name);
  const groupId = `chaos-records-${name}-${context.suffix}`;
  // A fresh group starts at the end of the shared topics: other runs' announcements are not this one's.
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
    expiresIn: '2h',
  });
  return {
    topic,
    kafka,
    ledger,
    ledgerUrl,
    records,
    recordsUrl,
    async register() {
      try {
        const response = await fetch(`${records.baseUrl}/fhir/Patient`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
          body: JSON.stringify({ resourceType: 'Patient', birthDate: '1970-05-05' }),
          signal: AbortSignal.timeout(30_000),
        });
        await response.text();
        const eventId = response.headers.get('x-medledger-event-id');
        return response.status === 201 && eventId ? eventId : undefined;
      } catch {
        await sleep(100);
        return undefined;
      }
    },
    async committed() {
      const client = new Client({ connectionString: recordsUrl });
      await client.connect();
      try {
        return new Set(
          (await client.query<{ event_id: string }>('SELECT event_id FROM es_outbox ORDER BY position')).rows.map(
            (r) => r.event_id,
          ),
        );
      } finally {
        await client.end();
      }
    },
    async verifiedReceipts() {
      const client = new Client({ connectionString: recordsUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: string }>(
          'SELECT count(*)::text AS n FROM es_receipt WHERE verified_at IS NOT NULL',
        );
        return Number(rows[0]?.n);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * A producing service (records, trials or supply) sealed by a ledger of its own, as in production: its public topic
 * sealed by the built ledger, its receipts verified against that ledger's pinned key, its tokens minted from a seed
 * it trusts. For the scenarios that break the producing side (service-kill, restarts, forged-announcement).
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DIAGNOSTICS_TOPIC, LEDGER_BLOCKS_TOPIC } from '@medledger/contracts';
import { ed25519PublicKeyFromSeed, verifierKey } from '@medledger/ledger-core';
import { mintToken, type ActorRole } from '@medledger/platform';
import { startCaughtUp } from '../common';
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

export type ProducingService = 'records' | 'trials' | 'supply';
export const PRODUCING_SERVICES: readonly ProducingService[] = ['records', 'trials', 'supply'];

export interface SealedService {
  service: ProducingService;
  topic: string;
  kafka: KafkaHandles;
  ledger: LedgerUnderTest;
  ledgerUrl: string;
  app: AppProcess;
  databaseUrl: string;
  /** A bearer token of this service's audience. */
  token(sub: string, role: ActorRole, org?: string): Promise<string>;
  /** Event ids in the service's outbox (every public event it committed for publication), in commit order. */
  committed(): Promise<Set<string>>;
  /** Event ids the service stored: its event store's and its outbox's (an internal event has no public one). */
  stored(): Promise<Set<string>>;
  /** Receipts the service holds as verified. */
  verifiedReceipts(): Promise<number>;
  /** Whether the service holds a verified receipt for each of these events. */
  sealed(eventIds: readonly string[]): Promise<boolean>;
}

export async function startSealedService(
  context: ChaosContext,
  name: string,
  service: ProducingService,
  env: Record<string, string> = {},
): Promise<SealedService> {
  // The ledger takes a topic's owner from its name (`….<service>.events`): the topic must end so.
  const topic = `chaos.${context.suffix}.${name}.${service}.events`;
  const kafka = await connectKafka(context, `chaos-${name}-${context.suffix}`);
  await createTopics(context, kafka.admin, [topic]);
  const eventSeed = randomBytes(32);
  const origin = `chaos.${context.suffix}/${name}`;
  const ledgerUrl = await freshDatabase(context, 'ledger', name);
  const ledger = await LedgerUnderTest.start(context, name, {
    databaseUrl: ledgerUrl,
    topics: [topic],
    producerKeys: [verifierKey(service, ed25519PublicKeyFromSeed(eventSeed))],
    origin,
    env: { LEDGER_BLOCK_MAX_AGE_MS: '50' },
  });
  const authSeed = randomBytes(32);
  const databaseUrl = await freshDatabase(context, service, name);
  const groupId = `chaos-${service}-${name}-${context.suffix}`;
  // A fresh group starts at the end of the shared topics: other runs' announcements are not this one's.
  await startCaughtUp(context.brokers, groupId, [LEDGER_BLOCKS_TOPIC, DIAGNOSTICS_TOPIC]);
  const app = await startApp(context, service, name, {
    DATABASE_URL: databaseUrl,
    KAFKA_GROUP_ID: groupId,
    KAFKA_CLIENT_ID: groupId,
    EVENT_SIGNING_KEY: eventSeed.toString('base64'),
    PUBLIC_EVENTS_TOPIC: topic,
    LEDGER_URL: ledger.baseUrl,
    LEDGER_VERIFIER_KEYS: ledger.verifierKey,
    LEDGER_ORIGIN: origin,
    AUTH_PUBLIC_KEYS: Buffer.from(ed25519PublicKeyFromSeed(authSeed)).toString('base64'),
    AUTH_ISSUER: ISSUER,
    ...env,
  });
  const query = async <R>(sql: string, values: unknown[] = []): Promise<R[]> => {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      return (await client.query(sql, values)).rows as R[];
    } finally {
      await client.end();
    }
  };
  return {
    service,
    topic,
    kafka,
    ledger,
    ledgerUrl,
    app,
    databaseUrl,
    token: (sub, role, org) =>
      mintToken(authSeed, {
        sub,
        role,
        ...(org ? { org } : {}),
        issuer: ISSUER,
        audience: `medledger-${service}`,
        expiresIn: '2h',
      }),
    async committed() {
      const rows = await query<{ event_id: string }>('SELECT event_id FROM es_outbox ORDER BY position');
      return new Set(rows.map((r) => r.event_id));
    },
    async stored() {
      const rows = await query<{ event_id: string }>(
        'SELECT event_id::text AS event_id FROM es_event UNION SELECT event_id FROM es_outbox',
      );
      return new Set(rows.map((r) => r.event_id));
    },
    async verifiedReceipts() {
      const rows = await query<{ n: string }>(
        'SELECT count(*)::text AS n FROM es_receipt WHERE verified_at IS NOT NULL',
      );
      return Number(rows[0]?.n);
    },
    async sealed(eventIds) {
      const rows = await query<{ n: string }>(
        'SELECT count(*)::text AS n FROM es_receipt WHERE verified_at IS NOT NULL AND event_id = ANY($1::text[])',
        [eventIds],
      );
      return Number(rows[0]?.n) === eventIds.length;
    },
  };
}

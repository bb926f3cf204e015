import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import type { Sql } from '@medledger/event-store';
import { PRISMA } from '@medledger/platform';
import {
  eventually,
  freePort,
  jsonOf,
  recordTopics,
  startLocalKafka,
  startService,
  testAuth,
  stopLocalKafka,
  uniqueSuffix,
  workspaceRoot,
  type LocalKafkaOptions,
  type RunningService,
} from '@medledger/testing';
import { RecordsModule } from '../src/app.module';

/**
 * The transactional outbox while Kafka is away. This suite runs its own broker (the shared one must not stop
 * under other suites), stops it in the middle, and checks that commands keep succeeding and that every event
 * reaches Kafka exactly once and in order once the broker is back.
 */
/** How long the broker stays down after the commands (OUTBOX_OUTAGE_MS=60000 for the full minute). */
const OUTAGE_MS = Number(process.env['OUTBOX_OUTAGE_MS'] ?? 3_000);

describe('outbox relay across a Kafka outage', () => {
  const suffix = uniqueSuffix();
  const dataDir = join(workspaceRoot(), '.data', `kafka-outage-${suffix}`);
  let kafka: LocalKafkaOptions;
  let brokers: string[];
  let records: RunningService;

  const auth = testAuth('records');
  let bearer: Record<string, string> = {};
  const http = (path: string, init: RequestInit = {}) =>
    fetch(records.baseUrl + path, { ...init, headers: { ...bearer, ...(init.headers as Record<string, string>) } });
  const post = (n: number) =>
    http('/fhir/Patient', {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', gender: n % 2 ? 'female' : 'male' }),
    });
  const metric = async (name: string) => {
    const text = await (await http('/metrics')).text();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  };

  beforeAll(async () => {
    const port = await freePort();
    kafka = { rootDir: workspaceRoot(), dataDir, port, controllerPort: await freePort(), heapMb: 256 };
    brokers = (await startLocalKafka(kafka)).brokers;
    records = await startService(
      'records',
      (config) =>
        RecordsModule.forRoot(config, {
          EVENT_SIGNING_KEY: randomBytes(32).toString('base64'),
          RECORDS_MASTER_KEY: randomBytes(32).toString('base64'),
          LEDGER_URL: 'http://127.0.0.1:9',
          ...auth.env,
        }),
      { KAFKA_BROKERS: brokers.join(',') },
    );
    bearer = await auth.headers('Practitioner/dr-outage', 'practitioner');
  }, 120_000);

  afterAll(async () => {
    await records?.close();
    if (kafka) await stopLocalKafka(kafka);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    'accepts commands while Kafka is down, then publishes every event once and in order',
    async () => {
      const created: string[] = [];
      for (let n = 0; n < 3; n++) created.push(((await (await post(n)).json()) as { id: string }).id);
      await eventually(async () => ((await metric('outbox_lag_events')) === 0 ? true : undefined));

      await stopLocalKafka(kafka);
      const started = Date.now();
      for (let n = 3; n < 13; n++) {
        const response = await post(n);
        expect(response.status).toBe(201);
        created.push(((await response.json()) as { id: string }).id);
      }
      // Updates of one patient while Kafka is away: their order must survive.
      const first = created[0] as string;
      for (let version = 1; version <= 5; version++) {
        // As the patient: anyone else would need their consent.
        const response = await http(`/fhir/Patient/${first}`, {
          method: 'PUT',
          headers: {
            ...(await auth.headers(`Patient/${first}`, 'patient')),
            'content-type': 'application/fhir+json',
            'if-match': `W/"${version}"`,
          },
          body: JSON.stringify({ resourceType: 'Patient', gender: version % 2 ? 'female' : 'male' }),
        });
        expect(response.status).toBe(200);
      }
      // Each command publishes its change and the AuditEvent of the access (records.AccessAudited).
      expect(await metric('outbox_lag_events')).toBe(30);
      const unsealed = (await (await http('/v1/events/unsealed?olderThanMs=0')).json()) as { events: unknown[] };
      expect(unsealed.events.length).toBeGreaterThanOrEqual(36);
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      expect(await metric('outbox_publish_failures_total')).toBeGreaterThan(0);

      await startLocalKafka(kafka);
      await eventually(async () => ((await metric('outbox_lag_events')) === 0 ? true : undefined), {
        timeoutMs: 90_000,
        intervalMs: 250,
      });
      process.stdout.write(`outage: ${Date.now() - started} ms from broker stop to an empty outbox\n`);

      const prisma = records.app.get<Sql>(PRISMA);
      const committed = await prisma.$queryRawUnsafe<Array<{ event_id: string; key: string }>>(
        'SELECT event_id, key FROM es_outbox ORDER BY position',
      );
      expect(committed).toHaveLength(36);
      const recorder = await recordTopics([PUBLIC_EVENT_TOPICS.records], brokers);
      try {
        await eventually(async () => (recorder.messages.length >= 36 ? true : undefined));
        await new Promise((resolve) => setTimeout(resolve, 500));
        const seen = recorder.messages.map(
          (m) => jsonOf(m.message.value) as { id: string; aggregateid: string; aggregateversion: number },
        );
        // Exactly once: every committed event, no duplicate.
        expect(seen.map((e) => e.id).sort()).toEqual(committed.map((e) => e.event_id).sort());
        // In order: per aggregate (one key, one partition) the versions ascend without gaps. The Patient's
        // aggregate is named by its pseudonym (ADR 0013): read from the outbox row of its registration.
        const [registration] = await prisma.$queryRawUnsafe<Array<{ aggregateid: string }>>(
          `SELECT o.envelope->>'aggregateid' AS aggregateid FROM es_outbox o
             JOIN es_event e ON e.event_id::text = o.event_id::text WHERE e.stream_id = $1 AND e.version = 1`,
          `Patient-${first}`,
        );
        const versions = seen.filter((e) => e.aggregateid === registration?.aggregateid).map((e) => e.aggregateversion);
        expect(versions).toEqual([1, 2, 3, 4, 5, 6]);
      } finally {
        await recorder.stop();
      }
    },
    120_000 + OUTAGE_MS,
  );
});

/**
 * Scenario `restarts`: records sealed by its ledger, four clients appending throughout, and then (1) the Kafka
 * broker stopped for 60 s and started again, (2) the PostgreSQL server holding the ledger's and records' databases
 * crashed (`pg_ctl stop -m immediate`: no checkpoint, so the next start replays the WAL) and started again 20 s
 * later. That server is the run's own ({@link startPrivatePostgres}): the machine's shared one holds other work's
 * databases. Where no PostgreSQL binaries can start one (Docker only), the outage is the databases' instead: every
 * connection cut and none accepted for 20 s (`ALLOW_CONNECTIONS false`, `pg_terminate_backend`), and the line says
 * so. Afterwards, with no manual step: both services healthy and taking appends again, every acknowledged command's
 * event committed, every committed event sealed exactly once, order per aggregate kept in the log, every receipt
 * verified.
 *
 * The broker can be stopped only when it is this checkout's local broker (`npm run infra:up`, `.data/kafka`, or the
 * one this run started); with any other (an external one, Docker), the Kafka part is reported as not run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { startLocalKafka, stopLocalKafka } from '@medledger/testing';
import { ROOT, round, sleep } from '../common';
import { say, type ChaosContext, type ScenarioResult } from './harness';
import { privatePostgresBinaries, startPrivatePostgres } from './private-postgres';
import { startSealedRecords } from './sealed-records';

const CLIENTS = 4;
/** How long the services have to be healthy and take appends again after an outage ends. */
const RECOVERY_TIMEOUT_MS = 120_000;

/** The port of this checkout's local broker (.data/kafka) when it is the one the run uses, else undefined. */
function localBrokerPort(brokers: readonly string[]): number | undefined {
  const props = join(ROOT, '.data/kafka/server.properties');
  if (brokers.length !== 1 || !existsSync(props) || !existsSync(join(ROOT, '.data/kafka/kafka.pid'))) return undefined;
  const port = /^listeners=PLAINTEXT:\/\/127\.0\.0\.1:(\d+)/m.exec(readFileSync(props, 'utf8'))?.[1];
  return port && brokers[0] === `127.0.0.1:${port}` ? Number(port) : undefined;
}

async function setConnections(adminUrl: string, databases: readonly string[], allow: boolean): Promise<void> {
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    for (const database of databases) {
      await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS ${allow ? 'true' : 'false'}`);
      if (!allow) {
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [database]);
      }
    }
  } finally {
    await admin.end();
  }
}

export async function restarts(context: ChaosContext): Promise<ScenarioResult> {
  const kafkaOutage = context.number('kafka-outage', context.short ? 10 : 60);
  const pgOutage = context.number('pg-outage', context.short ? 5 : 20);
  const bindir = privatePostgresBinaries();
  const server = bindir ? await startPrivatePostgres(bindir) : undefined;
  if (server) {
    // Pushed first, so it runs last: after the services have stopped and their databases are dropped.
    context.cleanups.push(async () => server.destroy());
    say(`restarts: PostgreSQL server of this run's own on ${server.port} (${server.version})`);
  }
  const stack = await startSealedRecords(server ? { ...context, adminUrl: server.adminUrl } : context, 'restarts');
  stack.ledger.supervise();
  stack.records.supervise();
  const started = performance.now();
  const acknowledged = new Set<string>();
  let running = true;
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (running) {
      const id = await stack.register();
      if (id) acknowledged.add(id);
    }
  });
  /** Seconds until both services answer /health, an append is acknowledged, and the ledger has sealed its event. */
  const recovery = async (): Promise<number> => {
    const from = performance.now();
    const deadline = Date.now() + RECOVERY_TIMEOUT_MS;
    let appended: string | undefined;
    for (;;) {
      const healthy = await Promise.all(
        [stack.ledger.baseUrl, stack.records.baseUrl].map((url) =>
          fetch(`${url}/health`).then(
            (r) => r.ok,
            () => false,
          ),
        ),
      );
      if (healthy.every(Boolean)) {
        appended ??= await stack.register();
        const sealed =
          appended !== undefined &&
          (await fetch(`${stack.ledger.baseUrl}/v1/events/${appended}`).then(
            (r) => r.ok,
            () => false,
          ));
        if (sealed) return round((performance.now() - from) / 1000, 1);
      }
      if (Date.now() > deadline)
        throw new Error(
          `not healthy again ${RECOVERY_TIMEOUT_MS / 1000} s after the outage (ledger ${healthy[0] ? 'healthy' : 'down'}, ` +
            `records ${healthy[1] ? 'healthy' : 'down'}; exits: ${[...stack.ledger.exits, ...stack.records.exits].join('; ')})`,
        );
      await sleep(250);
    }
  };
  await sleep(3_000);

  // 1. Kafka.
  const port = localBrokerPort(context.brokers);
  let kafkaRecovery: number | undefined;
  if (port !== undefined) {
    say(
      `restarts: stopping the broker on ${port} for ${kafkaOutage} s under load (${acknowledged.size} appends so far)`,
    );
    await stopLocalKafka({ rootDir: ROOT, port });
    await sleep(kafkaOutage * 1000);
    await startLocalKafka({ rootDir: ROOT, port, log: () => undefined });
    kafkaRecovery = await recovery();
    say(`restarts: broker back; services healthy and sealing new appends again after ${kafkaRecovery} s`);
  } else say("restarts: the broker is not this checkout's local one: the Kafka outage is not run");
  await sleep(3_000);

  // 2. PostgreSQL: the server crashed and restarted, or (no server of our own) the two databases' connections cut.
  const databases = [stack.ledgerUrl, stack.recordsUrl].map((url) => new URL(url).pathname.slice(1));
  const pgWhat = server
    ? `PostgreSQL server crashed (stop -m immediate) and started ${pgOutage} s later`
    : `PostgreSQL databases' connections cut and refused ${pgOutage} s (server not restarted: no binaries)`;
  say(`restarts: ${pgWhat}, under load (${acknowledged.size} appends so far)`);
  if (server) {
    server.crash();
    await sleep(pgOutage * 1000);
    server.start();
  } else {
    await setConnections(context.adminUrl, databases, false);
    await sleep(pgOutage * 1000);
    await setConnections(context.adminUrl, databases, true);
  }
  const pgRecovery = await recovery();
  say(`restarts: PostgreSQL back; services healthy and sealing new appends again after ${pgRecovery} s`);
  await sleep(3_000);
  running = false;
  await Promise.all(clients);

  // The figures of service-kill, and order per aggregate.
  const committed = await stack.committed();
  const lostAcknowledged = [...acknowledged].filter((id) => !committed.has(id)).length;
  await stack.ledger.waitForTreeSize(committed.size, 120_000);
  await sleep(2_000);
  const leaves = await stack.ledger.leaves(await stack.ledger.treeSize());
  const sealed = new Map<string, number>();
  const lastVersion = new Map<string, number>();
  let outOfOrder = 0;
  for (const leaf of leaves) {
    sealed.set(leaf.eventId, (sealed.get(leaf.eventId) ?? 0) + 1);
    const { event } = JSON.parse(Buffer.from(leaf.leafData, 'base64').toString('utf8')) as {
      event: { aggregateid?: string; aggregateversion?: number };
    };
    if (event.aggregateid === undefined || event.aggregateversion === undefined) continue;
    if ((lastVersion.get(event.aggregateid) ?? 0) >= event.aggregateversion) outOfOrder++;
    lastVersion.set(event.aggregateid, event.aggregateversion);
  }
  const notSealed = [...committed].filter((id) => !sealed.has(id)).length;
  const sealedTwice = [...sealed.values()].filter((n) => n > 1).length;
  const sealedNotCommitted = [...sealed.keys()].filter((id) => !committed.has(id)).length;
  const deadline = Date.now() + 120_000;
  let receipts = await stack.verifiedReceipts();
  while (receipts < committed.size && Date.now() < deadline) {
    await sleep(500);
    receipts = await stack.verifiedReceipts();
  }
  const seconds = (performance.now() - started) / 1000;
  const exits = [...stack.ledger.exits.map((e) => `ledger ${e}`), ...stack.records.exits.map((e) => `records ${e}`)];
  const ok =
    lostAcknowledged === 0 &&
    notSealed === 0 &&
    sealedTwice === 0 &&
    sealedNotCommitted === 0 &&
    outOfOrder === 0 &&
    receipts === committed.size &&
    kafkaRecovery !== undefined;
  return {
    pass: ok,
    summary:
      `${port !== undefined ? `Kafka stopped ${kafkaOutage} s: healthy and sealing new appends again after ${kafkaRecovery} s` : "Kafka outage NOT RUN (not this checkout's broker)"}; ` +
      `${pgWhat}: healthy and sealing new appends again after ${pgRecovery} s; ` +
      `${acknowledged.size} acknowledged appends: lost ${lostAcknowledged}; ${committed.size} events committed: ` +
      `not sealed ${notSealed}, sealed twice ${sealedTwice}, sealed but not committed ${sealedNotCommitted}, ` +
      `out of order in their aggregate ${outOfOrder}; verified receipts ${receipts}/${committed.size}; ` +
      `process exits (restarted after 1 s, as the stack's supervisor does): ledger ${stack.ledger.exits.length}, ` +
      `records ${stack.records.exits.length}; ${round(seconds)} s`,
    figures: {
      kafkaOutageSeconds: port !== undefined ? kafkaOutage : 0,
      kafkaRecoverySeconds: kafkaRecovery ?? -1,
      pgOutageSeconds: pgOutage,
      pgServerRestarted: server !== undefined,
      pgRecoverySeconds: pgRecovery,
      acknowledged: acknowledged.size,
      lostAcknowledged,
      committed: committed.size,
      notSealed,
      sealedTwice,
      sealedNotCommitted,
      outOfOrder,
      receiptsVerified: receipts,
      ledgerExits: stack.ledger.exits.length,
      recordsExits: stack.records.exits.length,
      seconds: round(seconds),
    },
    notes: exits,
  };
}

/**
 * `npm run infra:up` / `npm run infra:down`: the local Kafka broker on its own, for running one project's
 * integration tests repeatedly (`npx nx test-int records`) without starting a broker each time.
 */
import { startLocalKafka, stopLocalKafka } from '@medledger/testing';
import { ROOT, say } from './lib';

async function main(): Promise<void> {
  const command = process.argv[2];
  const port = process.env['KAFKA_PORT'] ? Number(process.env['KAFKA_PORT']) : undefined;
  if (command === 'up') {
    const kafka = await startLocalKafka({ rootDir: ROOT, port, log: say });
    say(`kafka ${kafka.startedByUs ? 'started' : 'already running'} at ${kafka.brokers.join(',')} (pid ${kafka.pid})`);
    say(`export KAFKA_BROKERS=${kafka.brokers.join(',')} DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres`);
  } else if (command === 'down') {
    await stopLocalKafka({ rootDir: ROOT, port });
    say('kafka stopped');
  } else {
    throw new Error('usage: infra.ts up|down');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

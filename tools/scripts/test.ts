/**
 * `npm test`: every check and every test, against real Kafka and PostgreSQL.
 * Starts the infrastructure once (see libs/testing startInfrastructure), hands it to every Nx target through
 * KAFKA_BROKERS / DATABASE_URL, runs lint, pure tests, builds, integration tests and the compose check, and
 * stops what it started, whatever the outcome.
 */
import { startInfrastructure } from '@medledger/testing';
import { bin, ROOT, run, say } from './lib';

async function main(): Promise<number> {
  const extra = process.argv.slice(2);
  say('formatting (prettier --check)...');
  const formatted = await run(bin('prettier'), [
    '--check',
    '--log-level=warn',
    '**/*.{ts,js,cjs,mjs,json,md,yml,yaml}',
  ]);
  if (formatted !== 0) {
    say('formatting differs from Prettier: run `npm run format`');
    return formatted;
  }
  const infrastructure = await startInfrastructure({ rootDir: ROOT, log: say });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await infrastructure.stop();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stop().finally(() => process.exit(130)));
  }
  try {
    say(`infrastructure (${infrastructure.mode}): kafka ${infrastructure.kafkaBrokers.join(',')}`);
    const env = {
      ...process.env,
      KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','),
      DATABASE_URL: infrastructure.postgresUrl,
    };
    const code = await run(
      bin('nx'),
      ['run-many', '-t', 'lint', 'typecheck', 'test', 'build', 'compose', 'test-int', '--outputStyle=stream', ...extra],
      { env },
    );
    if (code !== 0) {
      say(`checks failed (exit ${code})`);
      return code;
    }
  } finally {
    await stop();
  }
  // `npm start` as a terminal runs it (tools/scripts/stack.stack-spec.ts): last, once the shared broker is
  // stopped, because the stack starts its own on the default port.
  say('the stack under kill -9 and Ctrl-C...');
  const stack = await run(bin('jest'), ['--config', 'tools/scripts/jest.stack.config.cjs', '--runInBand']);
  say(stack === 0 ? 'all checks passed' : `checks failed (the stack test exited ${stack})`);
  return stack;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

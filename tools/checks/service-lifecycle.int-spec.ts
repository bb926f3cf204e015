import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { createServiceDatabase, eventually, testKafkaBrokers, type TestDatabase } from '@medledger/testing';

/**
 * The built service, started as a process the way `npm start` and the Docker image start it: it becomes
 * healthy against real Kafka and PostgreSQL, and on SIGTERM it drains its consumer, flushes its producer and
 * exits.
 */
const root = resolve(__dirname, '../..');
const PORT = 3193;

describe('supply process lifecycle', () => {
  let database: TestDatabase;
  let child: ChildProcess;
  let output = '';

  beforeAll(async () => {
    database = await createServiceDatabase('supply');
    child = spawn(process.execPath, [join(root, 'dist/apps/supply/main.js')], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(PORT),
        HOST: '127.0.0.1',
        DATABASE_URL: database.url,
        KAFKA_BROKERS: testKafkaBrokers().join(','),
        KAFKA_GROUP_ID: `supply-lifecycle-${database.name}`,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  });

  afterAll(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await database?.drop();
  });

  it('becomes healthy', async () => {
    const health = await eventually(
      async () => {
        const response = await fetch(`http://127.0.0.1:${PORT}/health`);
        return response.ok ? ((await response.json()) as { status: string }) : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 250 },
    );
    expect(health.status).toBe('ok');
  });

  it('shuts down gracefully on SIGTERM', async () => {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    // 0 only after a clean close; a failed close or the shutdown timeout exits 1.
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(output).toContain('Kafka consumer drained and producer flushed');
  });
});

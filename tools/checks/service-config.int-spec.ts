import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

/**
 * A service with a missing or malformed required variable must not start: it exits non-zero and names the
 * variable. Each service's real entry point (src/main.ts) is started as its own process.
 */
const root = resolve(__dirname, '../..');
const SERVICES = ['ledger', 'records', 'trials', 'supply'] as const;

const VALID_ENV = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/postgres',
  KAFKA_BROKERS: '127.0.0.1:9092',
};

function startMain(service: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const { DATABASE_URL: _db, KAFKA_BROKERS: _kafka, PORT: _port, ...inherited } = process.env;
    const child = spawn(
      join(root, 'node_modules/.bin/tsx'),
      ['--tsconfig', join(root, 'tsconfig.base.json'), join(root, 'apps', service, 'src/main.ts')],
      {
        cwd: root,
        env: { ...inherited, ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stderr });
    });
  });
}

describe('service configuration', () => {
  it.each(SERVICES)('%s exits non-zero naming a missing DATABASE_URL', async (service) => {
    const { code, stderr } = await startMain(service, { KAFKA_BROKERS: VALID_ENV.KAFKA_BROKERS });
    expect(code).toBe(1);
    expect(stderr).toContain(`invalid configuration for ${service}`);
    expect(stderr).toMatch(/DATABASE_URL: is required but not set/);
  });

  it.each([
    ['KAFKA_BROKERS', { ...VALID_ENV, KAFKA_BROKERS: 'no-port-here' }, /KAFKA_BROKERS.*host:port/],
    ['PORT', { ...VALID_ENV, PORT: 'eighty' }, /PORT: /],
    ['LOG_LEVEL', { ...VALID_ENV, LOG_LEVEL: 'loud' }, /LOG_LEVEL: /],
  ])('records exits non-zero naming a malformed %s', async (_name, env, message) => {
    const { code, stderr } = await startMain('records', env);
    expect(code).toBe(1);
    expect(stderr).toMatch(message);
  });
});

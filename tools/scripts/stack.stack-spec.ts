import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ROOT } from './lib';

/** Pids of the processes whose command line contains `needle` (read from /proc, as `pgrep -f` does). */
function pidsOf(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (command.includes(needle)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function until(what: string, condition: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const SERVICE_PORTS = [3100, 3101, 3102, 3103];
const LEDGER = join(ROOT, 'dist/apps/ledger/main.js');

/**
 * Issue 17, part 1: the stack keeps running when a service dies, and a terminal's Ctrl-C (SIGINT to the whole
 * foreground process group: npm, tsx and the stack) stops every service and the Kafka broker it started.
 */
describe('npm start, as a terminal runs it', () => {
  let stack: ChildProcess;
  let output = '';

  afterAll(() => {
    writeFileSync(join(ROOT, '.data/logs/stack-test.log'), output);
    // Whatever happened above, leave nothing running on the stack's ports.
    try {
      if (stack?.exitCode === null && stack.signalCode === null) process.kill(-(stack.pid as number), 'SIGKILL');
    } catch {
      // the group is gone
    }
    for (const pid of [...pidsOf(join(ROOT, 'dist/apps/')), ...pidsOf(join(ROOT, '.data/kafka'))]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('restarts a service killed with kill -9, and stops everything on Ctrl-C', async () => {
    for (const port of [...SERVICE_PORTS, 9092]) expect(await listening(port)).toBe(false);
    const env = { ...process.env };
    delete env['KAFKA_BROKERS'];
    delete env['DATABASE_URL'];
    // Its own process group, as a shell gives a foreground job: -pid reaches npm, tsx and the stack at once.
    stack = spawn('npm', ['start', '--', '--no-demo'], {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    stack.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    stack.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<string>((resolve) =>
      stack.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)),
    );

    await until(
      'the stack to be up',
      () => output.includes('press Ctrl-C to stop') || stack.exitCode !== null,
      300_000,
    );
    expect(output).toContain('press Ctrl-C to stop');
    const [ledger] = pidsOf(LEDGER);
    expect(ledger).toBeDefined();

    // kill -9 of the ledger: restarted, healthy again, the others untouched.
    process.kill(ledger as number, 'SIGKILL');
    await until('the ledger to be healthy again', () => output.includes('ledger is healthy again'), 120_000);
    expect(output).toMatch(/ledger exited \(signal SIGKILL\); restarting in 1 s/);
    const [restarted] = pidsOf(LEDGER);
    expect(restarted).toBeDefined();
    expect(restarted).not.toBe(ledger);
    expect((await fetch('http://127.0.0.1:3100/health')).status).toBe(200);
    expect(stack.exitCode).toBeNull();

    // Ctrl-C: SIGINT to the whole foreground group, as a terminal sends it.
    process.kill(-(stack.pid as number), 'SIGINT');
    const ended = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('hung'), 90_000))]);
    // npm ends as a terminal's job does on Ctrl-C (by the signal, or 0 / 130 once its child is done); what counts
    // is that nothing it started is left, however long the orderly stop takes (services SIGKILLed after 15 s).
    expect(['SIGINT', 'code 0', 'code 130']).toContain(ended);
    await until(
      'every service and the broker to stop',
      () => pidsOf(join(ROOT, 'dist/apps/')).length === 0 && pidsOf(join(ROOT, '.data/kafka')).length === 0,
      60_000,
    );
    await until('the stack to say it stopped', () => /\bstopped\n/.test(output), 10_000);
    expect(output).not.toMatch(/did not stop cleanly/);
    for (const port of [...SERVICE_PORTS, 9092]) expect(await listening(port)).toBe(false);
  });
});

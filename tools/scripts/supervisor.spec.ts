import { PassThrough } from 'node:stream';
import { Supervised, type SupervisedOptions } from './supervisor';

/** Real child processes: `node -e <script>`. */
function supervised(script: string, options: Partial<SupervisedOptions> = {}) {
  const lines: string[] = [];
  const gaveUp: string[] = [];
  const restarts: number[] = [];
  const service = new Supervised({
    name: 'svc',
    command: process.execPath,
    args: ['-e', script],
    env: process.env,
    cwd: process.cwd(),
    log: new PassThrough().resume(),
    say: (line) => lines.push(line),
    onGiveUp: (reason) => gaveUp.push(reason),
    onRestart: (attempt) => restarts.push(attempt),
    backoffMs: { initial: 50, max: 200 },
    ...options,
  });
  return { service, lines, gaveUp, restarts };
}

const until = async (condition: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('Supervised', () => {
  it('restarts a process that exits on its own, with a growing backoff, and logs each exit', async () => {
    const { service, lines, restarts, gaveUp } = supervised('process.exit(3)', { maxCrashes: 100 });
    service.start();
    await until(() => restarts.length >= 3);
    await service.stop();
    expect(gaveUp).toEqual([]);
    const waits = lines.filter((l) => l.includes('restarting in')).map((l) => /in ([\d.]+) s/.exec(l)?.[1]);
    // 50 ms doubling, capped at 200 ms.
    expect(waits.slice(0, 3)).toEqual(['0.05', '0.1', '0.2']);
    expect(waits.slice(3).every((wait) => wait === '0.2')).toBe(true);
    expect(lines[0]).toBe('svc exited (code 3); restarting in 0.05 s');
  });

  it('restarts after kill -9, and a fresh process answers', async () => {
    const { service, restarts } = supervised('setInterval(() => {}, 1000)');
    service.start();
    const first = service.process?.pid;
    service.process?.kill('SIGKILL');
    await until(() => restarts.length === 1 && service.process !== undefined);
    expect(service.process?.pid).not.toBe(first);
    expect(service.process?.exitCode).toBeNull();
    await service.stop();
  });

  it('gives up on a process that keeps failing, once, and restarts it no more', async () => {
    const { service, gaveUp, restarts } = supervised('process.exit(1)', { maxCrashes: 3, crashWindowMs: 60_000 });
    service.start();
    await until(() => gaveUp.length === 1);
    expect(gaveUp[0]).toMatch(/^svc exited 3 times within 60 s \(last: code 1\)$/);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(restarts).toEqual([1, 2]);
    expect(service.process).toBeUndefined();
  });

  it('stops with SIGTERM and does not restart what it stopped', async () => {
    const { service, restarts } = supervised('setInterval(() => {}, 1000)');
    service.start();
    const child = service.process;
    await service.stop();
    expect(child?.signalCode).toBe('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(restarts).toEqual([]);
    expect(service.process).toBeUndefined();
  });

  it('kills a process that ignores SIGTERM once the stop timeout has passed', async () => {
    const { service, lines } = supervised(
      "process.on('SIGTERM', () => {}); process.stdout.write('ready\\n'); setInterval(() => {}, 1000)",
      { stopTimeoutMs: 300 },
    );
    service.start();
    const child = service.process;
    await new Promise<void>((resolve) => child?.stdout?.once('data', () => resolve()));
    const started = Date.now();
    await service.stop();
    expect(child?.signalCode).toBe('SIGKILL');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(lines).toContain('svc did not stop within 0.3 s: SIGKILL');
  });

  it('cancels a pending restart when stopped between a crash and the restart', async () => {
    const { service, restarts, lines } = supervised('process.exit(2)', { backoffMs: { initial: 500, max: 500 } });
    service.start();
    await until(() => lines.length === 1);
    await service.stop();
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(restarts).toEqual([]);
  });
});

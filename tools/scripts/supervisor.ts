/**
 * The local stack's process supervisor: what compose's `restart: unless-stopped` does for the containers, for the
 * services `npm start` runs as child processes. A service that exits when nobody asked it to is restarted after
 * a backoff (1 s, doubling to 30 s; back to 1 s once it has run for a minute), and each exit and restart is
 * logged; a service that keeps failing (`maxCrashes` exits within `crashWindowMs`) makes the supervisor give up,
 * and the stack stops. `stop()` sends SIGTERM, then SIGKILL after `stopTimeoutMs`, and resolves once the process
 * has exited, however it got there.
 *
 * Each service runs in its own process group (`detached`): a terminal's Ctrl-C, sent to the whole foreground
 * group, reaches the supervisor alone, which then stops the services and the broker in order, instead of every
 * process racing to exit on its own.
 *
 * Why not a library: pm2 and forever daemonise the services (they outlive the command that started them, which
 * is what `npm start` must not do: Ctrl-C stops everything); node-supervisor and nodemon restart on file changes,
 * not on crashes with backoff. Restart-with-backoff is the small piece needed, written here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';

export interface SupervisedOptions {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The service's output (stdout and stderr). */
  log: Writable;
  /** Status lines: exits, restarts, giving up. */
  say: (message: string) => void;
  /** Called once when the service keeps failing and the supervisor gives up on it. */
  onGiveUp: (reason: string) => void;
  /** Called after each restart's spawn (e.g. to wait for /health and report it). */
  onRestart?: (attempt: number) => void;
  backoffMs?: { initial: number; max: number };
  /** Running this long resets the backoff. */
  healthyAfterMs?: number;
  maxCrashes?: number;
  crashWindowMs?: number;
  stopTimeoutMs?: number;
}

export class Supervised {
  private child: ChildProcess | undefined;
  private stopping = false;
  private gaveUp = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private backoff: number;
  private readonly crashes: number[] = [];
  private restarts = 0;
  private readonly initialBackoff: number;
  private readonly maxBackoff: number;
  private readonly healthyAfterMs: number;
  private readonly maxCrashes: number;
  private readonly crashWindowMs: number;
  private readonly stopTimeoutMs: number;

  constructor(private readonly options: SupervisedOptions) {
    this.initialBackoff = options.backoffMs?.initial ?? 1_000;
    this.maxBackoff = options.backoffMs?.max ?? 30_000;
    this.backoff = this.initialBackoff;
    this.healthyAfterMs = options.healthyAfterMs ?? 60_000;
    this.maxCrashes = options.maxCrashes ?? 5;
    this.crashWindowMs = options.crashWindowMs ?? 5 * 60_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
  }

  /** The running process (undefined between a crash and its restart). */
  get process(): ChildProcess | undefined {
    return this.child;
  }

  get restartCount(): number {
    return this.restarts;
  }

  start(): void {
    const { command, args, env, cwd, log } = this.options;
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    child.once('error', (error) => this.options.say(`${this.options.name}: ${error.message}`));
    child.once('exit', (code, signal) => this.exited(child, code, signal));
    this.child = child;
    this.startedAt = Date.now();
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child === child) this.child = undefined;
    if (this.stopping || this.gaveUp) return;
    const now = Date.now();
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (now - this.startedAt >= this.healthyAfterMs) this.backoff = this.initialBackoff;
    this.crashes.push(now);
    while (this.crashes.length > 0 && (this.crashes[0] as number) < now - this.crashWindowMs) this.crashes.shift();
    if (this.crashes.length >= this.maxCrashes) {
      this.gaveUp = true;
      const reason = `${this.options.name} exited ${this.crashes.length} times within ${Math.round(this.crashWindowMs / 1000)} s (last: ${how})`;
      this.options.say(`${reason}: giving up`);
      this.options.onGiveUp(reason);
      return;
    }
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.maxBackoff);
    this.options.say(`${this.options.name} exited (${how}); restarting in ${wait / 1000} s`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.restarts++;
      this.start();
      this.options.say(`${this.options.name} restarted (restart ${this.restarts}, pid ${this.child?.pid ?? '?'})`);
      this.options.onRestart?.(this.restarts);
    }, wait);
  }

  /** SIGTERM, then SIGKILL after stopTimeoutMs; no restart afterwards. Resolves when the process is gone. */
  stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.options.say(`${this.options.name} did not stop within ${this.stopTimeoutMs / 1000} s: SIGKILL`);
        child.kill('SIGKILL');
      }, this.stopTimeoutMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}

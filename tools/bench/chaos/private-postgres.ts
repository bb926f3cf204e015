/**
 * A PostgreSQL server of the run's own, so that `restarts` can crash and restart a whole server under load without
 * touching the machine's shared one (other databases live there). Made with the machine's PostgreSQL binaries
 * (`pg_config --bindir`): `initdb` into a fresh directory, durable settings (fsync and synchronous_commit on, as
 * installed), loopback only, trust authentication as the shared server has. As root, the server runs as the
 * `postgres` user, since PostgreSQL refuses to run as root.
 *
 * Where there are no binaries (a machine with Docker and no local PostgreSQL), {@link privatePostgresBinaries}
 * answers undefined and the scenario says what it did instead.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portIsFree } from './harness';

export interface PrivatePostgres {
  /** A superuser URL of the server's `postgres` database. */
  adminUrl: string;
  port: number;
  version: string;
  /** Stops the server the way a crash would (`pg_ctl stop -m immediate`: no checkpoint, WAL replay at the next start). */
  crash(): void;
  start(): void;
  /** Stops the server and deletes its directory. */
  destroy(): void;
}

/** The directory of the machine's PostgreSQL server binaries, or undefined when there is none to run. */
export function privatePostgresBinaries(): string | undefined {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    return ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(dir, b))) ? dir : undefined;
  } catch {
    return undefined;
  }
}

async function freePort(from: number): Promise<number> {
  for (let port = from; port < from + 100; port++) if (await portIsFree(port)) return port;
  throw new Error(`no free port for a PostgreSQL server in ${from}-${from + 99}`);
}

export async function startPrivatePostgres(bindir: string): Promise<PrivatePostgres> {
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'medledger-chaos-pg-'));
  const data = join(dir, 'data');
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const run = (binary: string, args: string[]) => {
    const [command, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bindir, binary), ...args]]
      : [join(bindir, binary), args];
    const result = spawnSync(command, argv, { encoding: 'utf8', cwd: dir });
    if (result.status !== 0)
      throw new Error(`${binary} ${args.join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`);
    return result.stdout;
  };
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-instructions']);
  const port = await freePort(55_432);
  const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c max_connections=200`;
  const start = () =>
    run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-o', options, '-w', '-t', '60', 'start']);
  start();
  const version = run('postgres', ['--version']).trim();
  let destroyed = false;
  return {
    adminUrl: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    version,
    crash: () => void run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']),
    start: () => void start(),
    destroy() {
      if (destroyed) return;
      destroyed = true;
      try {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } catch {
        // Already stopped (a crash the scenario did not follow with a start).
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

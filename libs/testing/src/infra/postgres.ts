/**
 * PostgreSQL bootstrap helpers for local development and integration tests: create the
 * per-service databases, clone a migrated template database per test suite, drop it again.
 *
 * Every function opens one short-lived connection to `adminUrl` (a database the role can connect
 * to, normally `postgres`) and closes it before returning. Database names are always quoted as
 * identifiers, never interpolated raw.
 */
import { Client } from 'pg';

/** Local PostgreSQL with trust auth, as on the dev machines and CI. */
export const DEFAULT_PG_ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

/** duplicate_database: CREATE DATABASE of a name that already exists. */
const DUPLICATE_DATABASE = '42P04';
/**
 * unique_violation: two sessions racing CREATE DATABASE for the same name can both pass the
 * existence check, and the loser then fails on pg_database's unique index instead of 42P04.
 */
const UNIQUE_VIOLATION = '23505';
/** object_in_use: "source database is being accessed by other users" (CREATE ... TEMPLATE). */
const OBJECT_IN_USE = '55006';
/** PostgreSQL silently truncates identifiers to NAMEDATALEN - 1 = 63 bytes. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * Creates each database in `names` that does not exist yet. Safe to call concurrently from
 * several processes with overlapping names. Resolves to the names this call actually created.
 */
export async function ensureDatabases(adminUrl: string, names: string[]): Promise<string[]> {
  const unique = [...new Set(names)];
  unique.forEach(assertValidName);
  const created: string[] = [];
  await withClient(adminUrl, async (client) => {
    for (const name of unique) {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.rowCount) continue;
      try {
        await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
        created.push(name);
      } catch (err) {
        // Someone else created it between our check and our CREATE: that is what we wanted.
        if (isPgError(err, DUPLICATE_DATABASE, UNIQUE_VIOLATION)) continue;
        throw wrap(err, `CREATE DATABASE ${name}`);
      }
    }
  });
  return created;
}

/**
 * Creates database `name` as a copy of `template` (CREATE DATABASE ... TEMPLATE), e.g. one
 * migrated template per service, cloned for every test suite. Fails if `name` already exists.
 *
 * PostgreSQL refuses to copy a database that has open connections. Connections that a caller
 * has just closed can linger server-side for a few milliseconds, so that error is retried for up
 * to `busyTimeoutMs` (default 5000) before giving up.
 */
export async function createDatabaseFromTemplate(
  adminUrl: string,
  template: string,
  name: string,
  busyTimeoutMs = 5_000,
): Promise<void> {
  assertValidName(template);
  assertValidName(name);
  const deadline = Date.now() + busyTimeoutMs;
  await withClient(adminUrl, async (client) => {
    for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
      try {
        await client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}`);
        return;
      } catch (err) {
        if (isPgError(err, OBJECT_IN_USE) && Date.now() + delay < deadline) {
          await sleep(delay);
          continue;
        }
        const hint = isPgError(err, OBJECT_IN_USE)
          ? ` (close every connection/pool to "${template}" before cloning it)`
          : '';
        throw wrap(err, `CREATE DATABASE ${name} TEMPLATE ${template}${hint}`);
      }
    }
  });
}

/**
 * Drops database `name` if it exists, terminating its open connections first. Uses
 * `DROP DATABASE ... WITH (FORCE)` on PostgreSQL 13+, pg_terminate_backend before that.
 */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  assertValidName(name);
  await withClient(adminUrl, async (client) => {
    const version = await client.query<{ server_version_num: string }>('SHOW server_version_num');
    const major = Math.floor(Number(version.rows[0]?.server_version_num ?? 0) / 10_000);
    try {
      if (major >= 13) {
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      } else {
        await client.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [name],
        );
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
      }
    } catch (err) {
      throw wrap(err, `DROP DATABASE ${name}`);
    }
  });
}

/**
 * Returns `baseUrl` with its database name replaced by `dbName`; user, password, host, port and
 * query parameters (e.g. `?sslmode=`, `?host=/socket/dir`) are kept.
 *
 *   databaseUrl('postgresql://postgres@127.0.0.1:5432/postgres', 'ledger')
 *     === 'postgresql://postgres@127.0.0.1:5432/ledger'
 */
export function databaseUrl(baseUrl: string, dbName: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(`databaseUrl: not a valid URL: ${redact(baseUrl)}`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`databaseUrl: expected a postgres:// or postgresql:// URL, got ${redact(baseUrl)}`);
  }
  if (dbName === '') throw new Error('databaseUrl: empty database name');
  url.pathname = `/${encodeURIComponent(dbName)}`;
  return url.toString();
}

// ---------------------------------------------------------------------------------------------

async function withClient<T>(adminUrl: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({
    connectionString: adminUrl,
    connectionTimeoutMillis: 10_000,
  });
  // An 'error' event without a listener (e.g. the server goes away mid-call) would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw wrap(err, `connect to ${redact(adminUrl)} (is PostgreSQL running?)`);
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function assertValidName(name: string): void {
  if (typeof name !== 'string' || name === '') throw new Error('postgres: empty database name');
  if (name.includes('\0')) throw new Error(`postgres: database name contains NUL: ${JSON.stringify(name)}`);
  // A longer name would be truncated by the server, and later lookups by the full name would miss.
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw new Error(`postgres: database name longer than ${MAX_IDENTIFIER_BYTES} bytes: ${name}`);
  }
}

/** Quotes an SQL identifier: "name", with embedded double quotes doubled. */
function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function isPgError(err: unknown, ...codes: string[]): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && codes.includes(code);
}

function wrap(err: unknown, what: string): Error {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  // `cause` assigned by hand rather than via ErrorOptions, which needs lib es2022.
  return Object.assign(
    new Error(`postgres: ${what} failed: ${message}${typeof code === 'string' ? ` [${code}]` : ''}`),
    { cause: err },
  );
}

/** Hides the password in a connection URL for error messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

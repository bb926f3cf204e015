import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { Pool, type PoolClient, type QueryConfig } from 'pg';
import type { Sql, TransactionalSql } from './sql';

/** Connections of the event store's own pool (commands, relay, consumers, receipts). */
export const EVENT_STORE_POOL_SIZE = 10;

/** Statement names by SQL text: each connection parses and plans a statement once, then only binds it. */
const statementNames = new Map<string, string>();

function prepared(text: string, values: unknown[]): QueryConfig {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `es_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    statementNames.set(text, name);
  }
  return { name, text, values };
}

/**
 * Every statement runs as a named prepared statement (node-postgres keeps them per connection): the event store's
 * SQL is a fixed set of texts, and parsing and planning them again on each call was most of the database's work
 * per request (`npm run bench:records`, docs/perf.md).
 */
function wrap(client: Pick<PoolClient, 'query'>): Sql {
  return {
    async $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T> {
      return (await client.query(prepared(query, values))).rows as T;
    },
    async $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number> {
      return (await client.query(prepared(query, values))).rowCount ?? 0;
    },
  };
}

/**
 * The event store's SQL on a plain `pg` pool, with the same interface as a Prisma client (`Sql`). Its statements
 * are all hand-written SQL, so Prisma's query engine only added cost: about a third of a command's CPU in
 * `npm run bench:outbox` (docs/perf.md). Same database, same migrations (Prisma owns the schema).
 */
export class PgSql implements TransactionalSql {
  private static readonly logger = new Logger('PgSql');
  private readonly pool: Pool;
  private readonly direct: Sql;

  constructor(connectionString: string, max = EVENT_STORE_POOL_SIZE) {
    this.pool = new Pool({ connectionString, max });
    // An idle connection the server ends (restart, failover, a dropped database) is reported here; without a
    // listener node-postgres would throw it as an unhandled 'error' event. The pool replaces it on the next use.
    this.pool.on('error', (error) => PgSql.logger.warn(`idle connection lost: ${error.message}`));
    this.direct = wrap(this.pool);
  }

  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T> {
    return this.direct.$queryRawUnsafe<T>(query, ...values);
  }

  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number> {
    return this.direct.$executeRawUnsafe(query, ...values);
  }

  /**
   * `fn` in one transaction on one connection: committed when it resolves, rolled back when it throws. `timeout`
   * bounds how long the transaction may sit idle (the server ends it: idle_in_transaction_session_timeout).
   */
  async $transaction<R>(fn: (tx: Sql) => Promise<R>, options: { timeout?: number } = {}): Promise<R> {
    const client = await this.pool.connect();
    // A connection the server ends while this transaction holds it between statements (a restart: 57P01) is
    // reported as an 'error' event of the client, which crashed the service with no listener (npm run chaos,
    // restarts); the next statement then fails and the transaction rolls back as for any other error.
    const lost = (error: Error) => PgSql.logger.warn(`connection lost in a transaction: ${error.message}`);
    client.on('error', lost);
    let broken = false;
    try {
      // One round trip (the simple query protocol takes several statements): each costs a syscall and a wake-up.
      await client.query(
        options.timeout
          ? `BEGIN; SET LOCAL idle_in_transaction_session_timeout = ${Math.floor(options.timeout)}`
          : 'BEGIN',
      );
      const result = await fn(wrap(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection is gone or unusable: do not return it to the pool
      }
      throw error;
    } finally {
      client.removeListener('error', lost);
      client.release(broken);
    }
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

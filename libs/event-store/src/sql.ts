/**
 * The SQL the event store runs: its tables are in every event-sourced service's own schema
 * (prisma/event-store.prisma), so it cannot use any one service's generated model API. The shape follows Prisma's
 * raw API; the implementation is {@link PgSql} (ADR 0004).
 */
export interface Sql {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

/** A client that can run a function in one transaction: committed when it resolves, rolled back when it throws. */
export interface TransactionalSql extends Sql {
  $transaction<R>(fn: (tx: Sql) => Promise<R>, options?: { timeout?: number }): Promise<R>;
}

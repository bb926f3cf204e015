/**
 * The slice of a Prisma client, or of one of its interactive transactions, that the event store runs its SQL
 * through. The event store's tables are in every event-sourced service's own schema (prisma/event-store.prisma),
 * so it cannot use any one service's generated model API: it speaks SQL, and services pass their client or `tx`.
 */
export interface Sql {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

/** A client that can open interactive transactions (a generated PrismaClient is one). */
export interface TransactionalSql extends Sql {
  $transaction<R>(fn: (tx: never) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
}

/** Runs `fn` in one interactive transaction of `client`; `tx` is typed as the slice the event store needs. */
export function inTransaction<R>(
  client: TransactionalSql,
  fn: (tx: Sql) => Promise<R>,
  options: { maxWait?: number; timeout?: number } = {},
): Promise<R> {
  return client.$transaction(fn, options);
}

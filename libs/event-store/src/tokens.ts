export const EVENT_STORE_CONFIG = Symbol('EVENT_STORE_CONFIG');
export const EVENT_STORE = Symbol('EVENT_STORE');
export const OUTBOX_RELAY = Symbol('OUTBOX_RELAY');
/** The event store's SQL client (a {@link PgSql} on the service's database). */
export const EVENT_STORE_SQL = Symbol('EVENT_STORE_SQL');

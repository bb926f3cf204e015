/** Injection token of the validated {@link ServiceConfig}. */
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
/** Injection token of the service's {@link DatabasePing}. */
export const DATABASE_PING = Symbol('DATABASE_PING');

/** What the health check needs from a service's database. */
export interface DatabasePing {
  ping(): Promise<void>;
}

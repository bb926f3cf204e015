import type { Infrastructure } from '../infra/infrastructure';
import { dropDatabase } from '../infra/postgres';

/** Drops this run's template databases and stops what global setup started (a running broker is left alone). */
export default async function globalTeardown(): Promise<void> {
  const state = globalThis as { __medledgerInfrastructure?: Infrastructure; __medledgerTemplates?: string[] };
  const infrastructure = state.__medledgerInfrastructure;
  if (infrastructure) {
    await Promise.all((state.__medledgerTemplates ?? []).map((name) => dropDatabase(infrastructure.postgresUrl, name)));
  }
  await infrastructure?.stop();
}

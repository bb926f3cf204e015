import { randomBytes } from 'node:crypto';
import { startService, uniqueSuffix, type RunningService, type TestAuth } from '@medledger/testing';
import { RecordsModule } from '../src/app.module';

/**
 * records in-process for one suite, on the suite's Kafka and PostgreSQL: its own topic, signing key, master key and
 * key directory, trusting the suite's token issuer; `env` adds or overrides settings (a ledger to talk to…).
 */
export function startRecords(auth: TestAuth, env: Record<string, string> = {}): Promise<RunningService> {
  return startService('records', (config) =>
    RecordsModule.forRoot(config, {
      ...auth.env,
      EVENT_SIGNING_KEY: randomBytes(32).toString('base64'),
      RECORDS_MASTER_KEY: randomBytes(32).toString('base64'),
      PUBLIC_EVENTS_TOPIC: `test.${uniqueSuffix()}.records.events`,
      KEYS_DIR: `.data/test-keys/${uniqueSuffix()}`,
      ...env,
    }),
  );
}

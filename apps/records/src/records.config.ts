import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { z } from 'zod';
import { ConfigError, devSeed, parseEnvironment } from '@medledger/platform';

export const recordsConfigSchema = z.object({
  NODE_ENV: z.string().default('development'),
  /** Base64 of 32 bytes: wraps every patient's data key. Outside production: a development key under KEYS_DIR. */
  RECORDS_MASTER_KEY: z.string().trim().optional(),
  KEYS_DIR: z.string().trim().default('.data/keys'),
});
export type RecordsConfig = z.infer<typeof recordsConfigSchema>;

export function loadRecordsConfig(env: Readonly<Record<string, string | undefined>>): RecordsConfig {
  const config = parseEnvironment('records', recordsConfigSchema, env);
  if (config.NODE_ENV === 'production' && !config.RECORDS_MASTER_KEY)
    parseEnvironment('records', z.object({ RECORDS_MASTER_KEY: z.string() }), {});
  return config;
}

export function loadMasterKey(config: RecordsConfig): Uint8Array {
  if (config.RECORDS_MASTER_KEY) {
    const key = Buffer.from(config.RECORDS_MASTER_KEY, 'base64');
    if (key.length !== 32)
      throw new ConfigError('records', [{ variable: 'RECORDS_MASTER_KEY', message: 'must be base64 of 32 bytes' }]);
    return key;
  }
  const file = join(config.KEYS_DIR, 'records-master.key');
  new Logger('RecordsConfig').warn(
    `RECORDS_MASTER_KEY is not set: using the development master key in ${file}; never in production`,
  );
  return devSeed(file);
}

import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { createWitnessSigner, type WitnessSigner } from '@medledger/ledger-core';
import { ConfigError, devSeed, type ServiceName } from '@medledger/platform';
import type { EventStoreConfig } from '../config';

const logger = new Logger('WitnessKey');

/** The witness's default key name: a schema-less URL (C2SP tlog-cosignature), one per service. */
export function defaultWitnessName(service: ServiceName): string {
  return `medledger.local/${service}/witness`;
}

/** Where a development witness key lives: the file the stack script reads to pin the witness keys. */
export function devWitnessKeyFile(keysDir: string, service: ServiceName): string {
  return join(keysDir, `witness-${service}.seed`);
}

/**
 * The service's witness key, apart from its event key (C2SP tlog-cosignature: a cosignature/v1 key must serve one
 * cosigner only, and a leaked event key must not also forge cosignatures). From WITNESS_SIGNING_KEY (base64 seed);
 * outside production a development key is created once under KEYS_DIR (git-ignored), with a warning.
 */
export function loadWitnessSigner(service: ServiceName, config: EventStoreConfig): WitnessSigner {
  const name = config.WITNESS_NAME ?? defaultWitnessName(service);
  if (config.WITNESS_SIGNING_KEY) {
    const seed = Buffer.from(config.WITNESS_SIGNING_KEY, 'base64');
    if (seed.length !== 32)
      throw new ConfigError(service, [
        { variable: 'WITNESS_SIGNING_KEY', message: 'must be base64 of a 32-byte Ed25519 seed' },
      ]);
    return createWitnessSigner(name, seed);
  }
  const file = devWitnessKeyFile(config.KEYS_DIR, service);
  const seed = devSeed(file);
  logger.warn(`WITNESS_SIGNING_KEY is not set: cosigning with the development key in ${file}; never in production`);
  return createWitnessSigner(name, seed);
}

import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { OriginSigner } from '@medledger/ledger-core';
import { ConfigError, devSeed, type ServiceName } from '@medledger/platform';
import type { EventStoreConfig } from './config';

const logger = new Logger('EventSigningKey');

/** Where a development key lives: the file the stack script reads to wire the ledger's keyring. */
export function devSigningKeyFile(keysDir: string, service: ServiceName): string {
  return join(keysDir, `producer-${service}.seed`);
}

/**
 * The service's Ed25519 key for proofs of origin. From EVENT_SIGNING_KEY (base64 seed); outside production a
 * development key is created once under KEYS_DIR (git-ignored), with a warning.
 */
export function loadOriginSigner(service: ServiceName, config: EventStoreConfig): OriginSigner {
  return new OriginSigner(service, loadSeed(service, config));
}

function loadSeed(service: ServiceName, config: EventStoreConfig): Uint8Array {
  if (config.EVENT_SIGNING_KEY) {
    const seed = Buffer.from(config.EVENT_SIGNING_KEY, 'base64');
    if (seed.length !== 32)
      throw new ConfigError(service, [
        { variable: 'EVENT_SIGNING_KEY', message: 'must be base64 of a 32-byte Ed25519 seed' },
      ]);
    return seed;
  }
  const file = devSigningKeyFile(config.KEYS_DIR, service);
  const seed = devSeed(file);
  logger.warn(`EVENT_SIGNING_KEY is not set: signing events with the development key in ${file}; never in production`);
  return seed;
}

/**
 * Development keys for local runs (never for production): one Ed25519 seed per producing service, created once
 * under .data/keys/ (git-ignored). The stack wires the ledger's keyring from them, and the demo signs with them.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ed25519PublicKeyFromSeed, verifierKey } from '@medledger/ledger-core';
import { ROOT } from './lib';

export const PRODUCERS = ['records', 'trials', 'supply'] as const;
export type Producer = (typeof PRODUCERS)[number];

export function devProducerSeed(producer: Producer): Uint8Array {
  const dir = join(ROOT, '.data/keys');
  const file = join(dir, `producer-${producer}.seed`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
}

/** `LEDGER_PRODUCER_KEYS` for the development network. */
export function devProducerKeyring(): string {
  return PRODUCERS.map((p) => verifierKey(p, ed25519PublicKeyFromSeed(devProducerSeed(p)))).join(',');
}

/** The ledger's development origin and key file: the ledger creates the same file when it is missing. */
export const DEV_LEDGER_ORIGIN = 'medledger.local/ledger';
const devLedgerKeyFile = () => join(ROOT, '.data/keys', `ledger-${DEV_LEDGER_ORIGIN.replace(/[^\w.-]/g, '_')}.key`);

/** `LEDGER_VERIFIER_KEYS` for the development network: the services pin the ledger's development key. */
export function devLedgerVerifierKey(): string {
  const file = devLedgerKeyFile();
  if (!existsSync(file)) {
    mkdirSync(join(ROOT, '.data/keys'), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  }
  const seed = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  return verifierKey(DEV_LEDGER_ORIGIN, ed25519PublicKeyFromSeed(seed));
}

/**
 * Development keys for local runs (never for production): one Ed25519 seed per producing service, created once
 * under .data/keys/ (git-ignored). The stack wires the ledger's keyring from them, and the demo signs with them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519PublicKeyFromSeed, verifierKey, witnessVerifierKey } from '@medledger/ledger-core';
import { devSeed } from '@medledger/platform';
import { ROOT } from './lib';

export const PRODUCERS = ['records', 'trials', 'supply'] as const;
export type Producer = (typeof PRODUCERS)[number];

export function devProducerSeed(producer: Producer): Uint8Array {
  // The file the service itself uses when EVENT_SIGNING_KEY is unset (libs/event-store devSigningKeyFile).
  return devSeed(join(ROOT, '.data/keys', `producer-${producer}.seed`));
}

/** `LEDGER_PRODUCER_KEYS` for the development network. */
export function devProducerKeyring(): string {
  return PRODUCERS.map((p) => verifierKey(p, ed25519PublicKeyFromSeed(devProducerSeed(p)))).join(',');
}

/** The witnesses of the development network (ADR 0012): every producing service cosigns the ledger's checkpoints. */
export const WITNESSES = PRODUCERS;

/** The witness's key name, as the service defaults it (libs/event-store defaultWitnessName). */
export const devWitnessName = (service: Producer): string => `medledger.local/${service}/witness`;

export function devWitnessSeed(service: Producer): Uint8Array {
  // The file the service itself uses when WITNESS_SIGNING_KEY is unset (libs/event-store devWitnessKeyFile).
  return devSeed(join(ROOT, '.data/keys', `witness-${service}.seed`));
}

/** The witnesses' cosignature/v1 verifier keys of the development network, comma-separated. */
export function devWitnessKeyring(): string {
  return WITNESSES.map((w) => witnessVerifierKey(devWitnessName(w), ed25519PublicKeyFromSeed(devWitnessSeed(w)))).join(
    ',',
  );
}

/** `LEDGER_WITNESSES` (`<witness key>=<add-checkpoint URL>`, comma-separated) for services at these base URLs. */
export function ledgerWitnesses(keys: string, urls: Readonly<Record<Producer, string>>): string {
  const list = keys.split(',').filter(Boolean);
  return WITNESSES.map((w, i) => `${list[i] ?? ''}=${urls[w]}/witness/add-checkpoint`).join(',');
}

/** The ledger's development origin and key file: the ledger creates the same file when it is missing. */
export const DEV_LEDGER_ORIGIN = 'medledger.local/ledger';
const devLedgerKeyFile = () => join(ROOT, '.data/keys', `ledger-${DEV_LEDGER_ORIGIN.replace(/[^\w.-]/g, '_')}.key`);

/** `LEDGER_VERIFIER_KEYS` for the development network: the services pin the ledger's development key. */
export function devLedgerVerifierKey(): string {
  const seed = devSeed(devLedgerKeyFile());
  return verifierKey(DEV_LEDGER_ORIGIN, ed25519PublicKeyFromSeed(seed));
}

/**
 * The keyrings `medledger-verify` pins (tools/verify/README.md, "Producer keyring", "Witnesses"): one C2SP verifier
 * key per line, written from the comma-separated lists the services are configured with (LEDGER_VERIFIER_KEYS,
 * LEDGER_PRODUCER_KEYS and the witnesses' keys; the development network's by default). Returns the three files.
 */
export function writeVerifierKeyrings(
  keys: { ledger: string; producers: string; witnesses: string } = {
    ledger: devLedgerVerifierKey(),
    producers: devProducerKeyring(),
    witnesses: devWitnessKeyring(),
  },
  dir = join(ROOT, '.data/keys'),
): { ledger: string; producers: string; witnesses: string } {
  mkdirSync(dir, { recursive: true });
  const write = (name: string, comment: string, list: string) => {
    const file = join(dir, name);
    const lines = list
      .split(',')
      .map((key) => key.trim())
      .filter(Boolean);
    writeFileSync(file, `# ${comment}\n${lines.join('\n')}\n`);
    return file;
  };
  return {
    ledger: write('ledger.keys', "the ledger's verifier key (medledger-verify --keyring)", keys.ledger),
    producers: write(
      'producers.keys',
      "the producers' event keys, one per service (medledger-verify --producer-keys)",
      keys.producers,
    ),
    witnesses: write(
      'witnesses.keys',
      "the witnesses' cosignature keys, one per service (medledger-verify --witness-keys)",
      keys.witnesses,
    ),
  };
}

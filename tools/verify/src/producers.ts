import {
  OriginFailure,
  OriginVerifier,
  parseVerifierKey,
  type OriginFailureCode,
  type ReceivedEnvelope,
} from '@medledger/ledger-core';
import { CliError, CliErrorCode, VerifyCode } from './codes';

/**
 * The producers' keys a run pins, to check each event's proof of origin (docs/design/ledger-format.md §1): a C2SP
 * verifier key per producing service, named after it (`supply+<hex key id>+<base64>`), as the ledger's
 * LEDGER_PRODUCER_KEYS lists them. Keep a service's old keys after it rotates: its old events stay signed by them.
 */
export interface ProducerKeys {
  readonly verifierKeys: readonly string[];
  /** Where they came from, for the summary. */
  readonly source: string;
}

/** `source` of a producer's events: `/medledger/<service>` (libs/contracts serviceOfSource). */
const SOURCE = /^\/medledger\/([a-z]+)$/;

/** A public event topic names its one producer: `medledger.<service>.events`, `<prefix>.<service>.events`. */
const TOPIC = /(?:^|\.)([a-z]+)\.events$/;

const ORIGIN_CODES: Record<OriginFailureCode, VerifyCode> = {
  [OriginFailure.UNKNOWN_KEY]: VerifyCode.ORIGIN_UNKNOWN_KEY,
  [OriginFailure.BAD_NOTE]: VerifyCode.ORIGIN_BAD_NOTE,
  [OriginFailure.NOT_IN_BATCH]: VerifyCode.ORIGIN_NOT_IN_BATCH,
  [OriginFailure.WRONG_BATCH_ORIGIN]: VerifyCode.ORIGIN_WRONG_BATCH_ORIGIN,
};

/**
 * Producer keys from `--producer-keys`: a keyring file (one verifier key per line, `#` comments and blank lines
 * ignored), or, when `value` is no readable file, the keys themselves separated by commas. `text`: the file's
 * text, undefined when there is no such file. A bad key is a usage error (exit 2), never skipped.
 */
export function parseProducerKeys(value: string, text: string | undefined): ProducerKeys {
  const where = text === undefined ? '--producer-keys' : value;
  const lines =
    text === undefined
      ? value.split(',').map((line, i) => ({ line: line.trim(), number: i + 1 }))
      : text.split(/\r?\n/).map((line, i) => ({ line: line.trim(), number: i + 1 }));
  const keys = lines.filter(({ line }) => line !== '' && !line.startsWith('#'));
  for (const { line, number } of keys) {
    const parsed = parseVerifierKey(line);
    if (!parsed.ok) {
      const what = text === undefined ? `key ${number} of --producer-keys (and no such file)` : `${value}:${number}`;
      throw new CliError(CliErrorCode.KEYRING, `${what}: not a verifier key (${parsed.reason})`);
    }
  }
  if (keys.length === 0) throw new CliError(CliErrorCode.KEYRING, `${where}: no producer key`);
  return {
    verifierKeys: keys.map(({ line }) => line),
    source: text === undefined ? 'producer keys given inline' : `producer keyring ${value}`,
  };
}

export type OriginCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: VerifyCode; readonly reason: string };

/**
 * Checks sealed events against the pinned producer keys: the producer named by `source` signed a batch note for
 * its own event log, the event proves into that batch at its index, and it was sealed from its producer's topic.
 * Each distinct note's signature is verified once while it is among the last ORIGIN_NOTE_CACHE_SIZE seen (the
 * events of a batch are sealed close together).
 */
export class ProducerCheck {
  private readonly origin: OriginVerifier;

  constructor(readonly keys: ProducerKeys) {
    this.origin = new OriginVerifier(keys.verifierKeys);
  }

  /**
   * `received`: the event's text and bytes as sealed, when known to be its canonical form (cut out of a checked
   * leaf): the signed part is then cut out of them instead of serialising the event again.
   */
  check(event: Readonly<Record<string, unknown>>, topic: string, received?: ReceivedEnvelope): OriginCheck {
    const source = event['source'];
    const producer = typeof source === 'string' ? SOURCE.exec(source)?.[1] : undefined;
    if (producer === undefined) {
      return {
        ok: false,
        code: VerifyCode.ORIGIN_UNKNOWN_KEY,
        reason: `source ${JSON.stringify(source)} names no producer`,
      };
    }
    const verdict = this.origin.verifyCanonical(event, producer, received);
    if (!verdict.ok) return { ok: false, code: ORIGIN_CODES[verdict.code], reason: verdict.reason };
    const owner = TOPIC.exec(topic)?.[1];
    if (owner !== producer) {
      return {
        ok: false,
        code: VerifyCode.WRONG_TOPIC,
        reason: `an event of ${producer} sealed from ${JSON.stringify(topic)}, ${owner === undefined ? 'a topic of no producer' : `the topic of ${owner}`}`,
      };
    }
    return { ok: true };
  }
}

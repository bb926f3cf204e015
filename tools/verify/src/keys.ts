import { parseVerifierKey, toHex, type NoteVerifier } from '@medledger/ledger-core';
import { CliError, CliErrorCode, finding, VerifyCode, type Finding } from './codes';

/**
 * The keys a run trusts. Block headers name a key by id only (docs/design/ledger-format.md §5); checkpoint notes
 * by name and id (§4). Both views come from the same verifier keys.
 */
export interface TrustedKeys {
  readonly verifiers: readonly NoteVerifier[];
  readonly publicKeyById: ReadonlyMap<string, Uint8Array>;
  /** The same keys as C2SP verifier key strings, each once. */
  readonly verifierKeys: readonly string[];
  /** Where they came from, for the summary: a pinned keyring or the party being verified. */
  readonly source: string;
}

/**
 * Builds the trusted set from C2SP verifier keys (`<name>+<hex key id>+<base64>`). Returns the reason a key is
 * unusable: malformed, or a key id shared by two different keys (a header could then not name its key).
 */
export function trustKeys(
  verifierKeys: readonly string[],
  source: string,
): { ok: true; keys: TrustedKeys } | { ok: false; reason: string } {
  const verifiers: NoteVerifier[] = [];
  const unique: string[] = [];
  const publicKeyById = new Map<string, Uint8Array>();
  for (const vkey of verifierKeys) {
    const parsed = parseVerifierKey(vkey);
    if (!parsed.ok) return { ok: false, reason: `${JSON.stringify(vkey.slice(0, 80))}: ${parsed.reason}` };
    const { keyId, publicKey } = parsed.value;
    const known = publicKeyById.get(keyId);
    if (known && toHex(known) !== toHex(publicKey)) {
      return { ok: false, reason: `two different keys have the key id ${keyId}` };
    }
    if (known) continue;
    publicKeyById.set(keyId, publicKey);
    verifiers.push(parsed.value);
    unique.push(vkey);
  }
  return { ok: true, keys: { verifiers, publicKeyById, verifierKeys: unique, source } };
}

/**
 * A keyring file: one verifier key per line; blank lines and lines starting with `#` are ignored. The keyring
 * is the user's own trust anchor, so a bad line is a usage error (exit 2), never skipped.
 */
export function parseKeyring(text: string, file: string): TrustedKeys {
  const lines = text
    .split(/\r?\n/)
    .map((line, i) => ({ line: line.trim(), number: i + 1 }))
    .filter(({ line }) => line !== '' && !line.startsWith('#'));
  for (const { line, number } of lines) {
    const parsed = parseVerifierKey(line);
    if (!parsed.ok)
      throw new CliError(CliErrorCode.KEYRING, `${file}:${number}: not a verifier key (${parsed.reason})`);
  }
  if (lines.length === 0) throw new CliError(CliErrorCode.KEYRING, `${file}: no verifier key in the keyring`);
  const trusted = trustKeys(
    lines.map(({ line }) => line),
    `keyring ${file}`,
  );
  if (!trusted.ok) throw new CliError(CliErrorCode.KEYRING, `${file}: ${trusted.reason}`);
  return trusted.keys;
}

/**
 * The keys `GET /v1/keys` lists (`{ keys: [{ keyId, verifierKey, ... }] }`). A malformed list is a finding: the
 * ledger is serving something it should not.
 */
export function keysFromListing(body: unknown, source: string): { ok: true; keys: TrustedKeys } | Finding {
  const entries = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(entries)) return finding(VerifyCode.KEYS_INVALID, 'keys: the key list is not { keys: [...] }');
  const vkeys: string[] = [];
  for (const entry of entries as unknown[]) {
    const { keyId, verifierKey } = (entry ?? {}) as { keyId?: unknown; verifierKey?: unknown };
    if (typeof verifierKey !== 'string') return finding(VerifyCode.KEYS_INVALID, 'keys: an entry has no verifierKey');
    const parsed = parseVerifierKey(verifierKey);
    if (!parsed.ok) return finding(VerifyCode.KEYS_INVALID, `keys: ${parsed.reason}`);
    if (keyId !== undefined && keyId !== parsed.value.keyId) {
      return finding(VerifyCode.KEYS_INVALID, `keys: keyId ${JSON.stringify(keyId)} is not the id of its verifier key`);
    }
    vkeys.push(verifierKey);
  }
  return keysFromVerifierKeys(vkeys, source);
}

export function keysFromVerifierKeys(
  vkeys: readonly unknown[],
  source: string,
): { ok: true; keys: TrustedKeys } | Finding {
  if (!vkeys.every((vkey): vkey is string => typeof vkey === 'string')) {
    return finding(VerifyCode.KEYS_INVALID, 'keys: every key must be a verifier key string');
  }
  if (vkeys.length === 0) return finding(VerifyCode.KEYS_INVALID, 'keys: no key is listed');
  const trusted = trustKeys(vkeys, source);
  return trusted.ok ? trusted : finding(VerifyCode.KEYS_INVALID, `keys: ${trusted.reason}`);
}

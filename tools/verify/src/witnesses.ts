import { readFile } from 'node:fs/promises';
import {
  CosignatureFailure,
  parseNote,
  parseWitnessKey,
  verifyWitnessQuorum,
  type WitnessVerifier,
} from '@medledger/ledger-core';
import { CliError, CliErrorCode, finding, VerifyCode, type Finding } from './codes';

/**
 * Witness cosignatures (ADR 0012, C2SP tlog-cosignature): with `--witness-keys <file> [--quorum N]`, the checkpoint a
 * command relies on must carry valid cosignatures from at least N distinct pinned witness keys. A ledger that shows
 * this client a history the witnesses did not see (a split view) cannot get them to cosign it.
 */
export interface WitnessPolicy {
  readonly witnesses: readonly WitnessVerifier[];
  readonly quorum: number;
  readonly file: string;
}

/** The witness keyring: one cosignature/v1 verifier key (`<name>+<keyid>+<base64(0x04 || key)>`) per line. */
export function parseWitnessKeyring(text: string, file: string): WitnessVerifier[] {
  const witnesses: WitnessVerifier[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const parsed = parseWitnessKey(line);
    if (!parsed.ok) throw new CliError(CliErrorCode.KEYRING, `${file}:${i + 1}: not a witness key (${parsed.reason})`);
    if (witnesses.some((w) => w.name === parsed.value.name && w.keyId === parsed.value.keyId))
      throw new CliError(CliErrorCode.KEYRING, `${file}:${i + 1}: witness key ${line} is listed twice`);
    witnesses.push(parsed.value);
  });
  if (witnesses.length === 0) throw new CliError(CliErrorCode.KEYRING, `${file}: no witness key in the keyring`);
  return witnesses;
}

/** `--witness-keys` and `--quorum` (default 1); undefined without them. `--quorum` alone is a usage error. */
export async function witnessPolicy(options: {
  'witness-keys'?: string | boolean;
  quorum?: string | boolean;
}): Promise<WitnessPolicy | undefined> {
  const file = options['witness-keys'];
  const quorumText = options.quorum;
  if (typeof file !== 'string') {
    if (quorumText !== undefined) throw new CliError(CliErrorCode.USAGE, '--quorum needs --witness-keys <file>');
    return undefined;
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(CliErrorCode.KEYRING, `${file}: cannot read (${(error as Error).message})`);
  }
  const witnesses = parseWitnessKeyring(text, file);
  const quorum = quorumText === undefined ? 1 : Number(quorumText);
  if (typeof quorumText === 'boolean' || !Number.isSafeInteger(quorum) || quorum < 1 || quorum > witnesses.length) {
    throw new CliError(
      CliErrorCode.USAGE,
      `--quorum must be 1..${witnesses.length} (the witness keys in ${file}), not ${JSON.stringify(quorumText)}`,
    );
  }
  return { witnesses, quorum, file };
}

/** Whether `note` (the checkpoint a command relies on) carries the policy's quorum; a finding if it does not. */
export function checkWitnessed(
  note: string | undefined,
  policy: WitnessPolicy,
  where = 'checkpoint',
): Finding | undefined {
  if (note === undefined) {
    return finding(
      VerifyCode.NOT_WITNESSED,
      `${where}: the ledger has no checkpoint cosigned by ${policy.quorum} witness(es) of ${policy.file}`,
    );
  }
  const verdict = verifyWitnessQuorum(note, policy.witnesses, policy.quorum);
  if (verdict.ok) return undefined;
  if (verdict.code === CosignatureFailure.NO_QUORUM) {
    return finding(
      VerifyCode.NOT_WITNESSED,
      `${where}: ${verdict.reason}; refused: without the witnesses' word it may be a view shown to this client alone`,
    );
  }
  return finding(VerifyCode.COSIGNATURE_INVALID, `${where}: ${verdict.reason}`);
}

/** For the verdict line: which witnesses vouched for the checkpoint. */
export function describeWitnessed(note: string | undefined, policy: WitnessPolicy | undefined): string {
  if (!policy) return '; witnesses NOT checked (no --witness-keys)';
  const verdict = note === undefined ? undefined : verifyWitnessQuorum(note, policy.witnesses, policy.quorum);
  const names = verdict?.ok ? verdict.cosignatures.map((c) => c.name).join(', ') : '';
  return `; cosigned by ${names} (quorum ${policy.quorum} of ${policy.witnesses.length} in ${policy.file})`;
}

/** The signed text of a note (its signature lines, the ledger's and the witnesses', left out). */
export function noteText(note: string): string | undefined {
  const parsed = parseNote(note);
  return parsed.ok ? parsed.value.text : undefined;
}

import { bytesEqual, fromBase64, verifyCheckpoint, verifyHeader } from '@medledger/ledger-core';
import { finding, VerifyCode, type Finding } from './codes';
import { type TrustedKeys } from './keys';

/** A signed checkpoint and the time its block was sealed (the checkpoint note itself carries no time). */
export interface DatedCheckpoint {
  readonly ok: true;
  readonly checkpoint: string;
  readonly sealedAt: string;
}

/**
 * The newest block as `GET /v1/blocks/latest` (or a bundle's last block) gives it: its header signed by a trusted
 * key, its checkpoint signed by that key for the header's tree size and root. Then its `sealedAt` is when that
 * checkpoint was made, which --max-age bounds. Never throws on untrusted input.
 */
export function datedCheckpoint(block: unknown, keys: TrustedKeys, origin?: string): DatedCheckpoint | Finding {
  if (typeof block !== 'object' || block === null || Array.isArray(block)) {
    return finding(VerifyCode.CHECKPOINT_MISSING, 'latest block: none (the log is empty)');
  }
  const { hash: _hash, checkpoint, ...header } = block as Record<string, unknown>;
  const signed = verifyHeader(header, keys.publicKeyById);
  if (!signed.ok) {
    return finding(VerifyCode.SIGNATURE_INVALID, `latest block: ${signed.reason} (${signed.code})`);
  }
  if (typeof checkpoint !== 'string') return finding(VerifyCode.BLOCK_MALFORMED, 'latest block: no checkpoint');
  const opened = verifyCheckpoint(checkpoint, keys.verifiers, origin);
  if (!opened.ok) return finding(VerifyCode.CHECKPOINT_INVALID, `latest checkpoint: ${opened.reason} (${opened.code})`);
  const { treeSize, root, sealedAt, keyId } = header as {
    treeSize: number;
    root: string;
    sealedAt: string;
    keyId: string;
  };
  const cp = opened.checkpoint;
  if (!opened.verified.some((signature) => signature.keyId === keyId)) {
    return finding(VerifyCode.CHECKPOINT_INVALID, `latest checkpoint: not signed by its block's key ${keyId}`);
  }
  if (cp.size !== treeSize || !bytesEqual(cp.root, fromBase64(root) as Uint8Array)) {
    return finding(
      VerifyCode.CHECKPOINT_MISMATCH,
      `latest checkpoint: tree size ${cp.size} is not its block's (tree size ${treeSize}, root ${root})`,
    );
  }
  return { ok: true, checkpoint, sealedAt };
}

/** `--max-age`: `<n>` seconds, or `<n>s`, `<n>m`, `<n>h`, `<n>d`. Undefined when it is not one. */
export function parseMaxAge(value: string): number | undefined {
  const match = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
  if (!match) return undefined;
  const unit = { '': 1_000, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/**
 * The newest checkpoint must be younger than `maxAgeMs`: a log frozen at an old tree (or a view of it held back
 * from this client) shows nothing newer. A block sealed in the future by more than the bound fails too.
 */
export function checkAge(sealedAt: string, maxAgeMs: number, now: number): Finding | undefined {
  const age = now - Date.parse(sealedAt);
  if (age <= maxAgeMs && age >= -maxAgeMs) return undefined;
  const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
  return finding(
    VerifyCode.STALE_CHECKPOINT,
    age > 0
      ? `checkpoint: the newest block was sealed at ${sealedAt}, ${seconds(age)} ago, more than --max-age ${seconds(maxAgeMs)}`
      : `checkpoint: the newest block was sealed at ${sealedAt}, ${seconds(-age)} in the future`,
  );
}

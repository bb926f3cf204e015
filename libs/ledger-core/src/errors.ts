/**
 * Two kinds of failure, on purpose:
 *
 * - Anything that checks untrusted input (`verify*`, `parse*`) returns a value: `{ ok: true, … }` or
 *   `{ ok: false, code, reason }`. A crafted proof, note or header is an expected outcome, never an exception.
 * - Anything whose preconditions are the caller's job (generating a proof for an index the caller has already
 *   bounds-checked, appending to tiles the caller loaded for the stated size, signing) throws a
 *   `LedgerCoreError`. Hitting one means a bug or corrupted storage: a broken invariant.
 *
 * Every code is stable and starts with `LEDGER.`, so one mapper per transport can turn it into problem+json or a
 * dead-letter reason.
 */

/** A failure of a check on untrusted input. `reason` is for humans and logs; `code` is for programs. */
export interface Failure<C extends string> {
  readonly ok: false;
  readonly code: C;
  readonly reason: string;
}

/** The outcome of a check that produces nothing but yes or no. */
export type Verdict<C extends string> = { readonly ok: true } | Failure<C>;

/** The outcome of parsing untrusted input into a value. */
export type Parsed<T, C extends string> = { readonly ok: true; readonly value: T } | Failure<C>;

export function fail<C extends string>(code: C, reason: string): Failure<C> {
  return { ok: false, code, reason };
}

/** Codes thrown (not returned) when a caller breaks a precondition. */
export const LedgerErrorCode = {
  INVALID_ARGUMENT: 'LEDGER.INVALID_ARGUMENT',
  INVALID_COMPACT_RANGE: 'LEDGER.INVALID_COMPACT_RANGE',
  TILES_INCONSISTENT: 'LEDGER.TILES_INCONSISTENT',
  TILE_MISSING: 'LEDGER.TILE_MISSING',
  JCS_UNSUPPORTED_VALUE: 'LEDGER.JCS_UNSUPPORTED_VALUE',
  INVALID_KEY: 'LEDGER.INVALID_KEY',
  INVALID_NOTE: 'LEDGER.INVALID_NOTE',
  INVALID_CHECKPOINT: 'LEDGER.INVALID_CHECKPOINT',
  INVALID_BLOCK_HEADER: 'LEDGER.INVALID_BLOCK_HEADER',
  INVALID_LEAF: 'LEDGER.INVALID_LEAF',
} as const;
export type LedgerErrorCode = (typeof LedgerErrorCode)[keyof typeof LedgerErrorCode];

export class LedgerCoreError extends Error {
  override readonly name = 'LedgerCoreError';

  constructor(
    readonly code: LedgerErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

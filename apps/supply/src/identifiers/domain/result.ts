/**
 * Identifier parsing never throws on bad input: a wrong check digit or an over-long serial on a scanned pack is an
 * expected outcome, so every parser returns a value. `code` is for programs (stable, `SUPPLY.`), `reason` for
 * humans and logs.
 */
export const IdentifierErrorCode = {
  BAD_CHECK_DIGIT: 'SUPPLY.BAD_CHECK_DIGIT',
  BAD_IDENTIFIER: 'SUPPLY.BAD_IDENTIFIER',
  BAD_SERIAL: 'SUPPLY.BAD_SERIAL',
  BAD_LOT: 'SUPPLY.BAD_LOT',
  BAD_EXPIRY: 'SUPPLY.BAD_EXPIRY',
} as const;
export type IdentifierErrorCode = (typeof IdentifierErrorCode)[keyof typeof IdentifierErrorCode];

export interface IdentifierFailure {
  readonly ok: false;
  readonly code: IdentifierErrorCode;
  readonly reason: string;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | IdentifierFailure;

export function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

export function fail(code: IdentifierErrorCode, reason: string): IdentifierFailure {
  return { ok: false, code, reason };
}

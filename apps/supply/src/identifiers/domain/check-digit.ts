import { fail, IdentifierErrorCode, ok, type Parsed } from './result';

/**
 * The GS1 standard check digit over `digits` (the key without its check digit).
 * SPEC: GS1 General Specifications §7.9.1 "Standard check digit calculations for GS1 data structures": from the
 * right, digits are weighted 3, 1, 3, 1, …; the check digit brings the weighted sum up to the next multiple of 10.
 * The same rule serves GTIN-8/12/13/14, GLN, SSCC, GSIN, GSRN, GRAI and GDTI.
 */
export function gs1CheckDigit(digits: string): number {
  if (!/^\d+$/.test(digits)) throw new RangeError(`gs1CheckDigit expects digits, got '${digits}'`);
  let sum = 0;
  for (let i = digits.length - 1, weight = 3; i >= 0; i--, weight = 4 - weight) {
    sum += (digits.charCodeAt(i) - 48) * weight;
  }
  return (10 - (sum % 10)) % 10;
}

/** `digits` followed by its GS1 check digit. */
export function withCheckDigit(digits: string): string {
  return `${digits}${gs1CheckDigit(digits)}`;
}

/** True when the last digit of `key` is the GS1 check digit of the digits before it. */
export function hasValidCheckDigit(key: string): boolean {
  if (!/^\d{2,}$/.test(key)) return false;
  return gs1CheckDigit(key.slice(0, -1)) === Number(key.slice(-1));
}

// SPEC: GS1 General Specifications §3.4.2 / §4.2: a GTIN is 8, 12, 13 or 14 digits; in element strings (AI 01)
// and in Digital Link it is always carried as 14 digits, left-padded with zeros.
const GTIN_LENGTHS: readonly number[] = [8, 12, 13, 14];
const GLN_LENGTH = 13;

/** A GTIN-8, -12, -13 or -14 with a correct check digit, returned as its 14-digit form. */
export function parseGtin(gtin: string): Parsed<string> {
  if (!/^\d+$/.test(gtin) || !GTIN_LENGTHS.includes(gtin.length)) {
    return fail(IdentifierErrorCode.BAD_IDENTIFIER, `a GTIN is 8, 12, 13 or 14 digits, got '${gtin}'`);
  }
  if (!hasValidCheckDigit(gtin)) {
    return fail(
      IdentifierErrorCode.BAD_CHECK_DIGIT,
      `GTIN ${gtin}: check digit ${gtin.slice(-1)}, expected ${gs1CheckDigit(gtin.slice(0, -1))}`,
    );
  }
  return ok(gtin.padStart(14, '0'));
}

/** A GLN (13 digits) with a correct check digit. */
export function parseGln(gln: string): Parsed<string> {
  if (!/^\d+$/.test(gln) || gln.length !== GLN_LENGTH) {
    return fail(IdentifierErrorCode.BAD_IDENTIFIER, `a GLN is 13 digits, got '${gln}'`);
  }
  if (!hasValidCheckDigit(gln)) {
    return fail(
      IdentifierErrorCode.BAD_CHECK_DIGIT,
      `GLN ${gln}: check digit ${gln.slice(-1)}, expected ${gs1CheckDigit(gln.slice(0, -1))}`,
    );
  }
  return ok(gln);
}

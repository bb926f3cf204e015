/**
 * GS1 identifiers as a trading partner's system builds them, for the supply bench and the chaos suite: not with the
 * service's own formatter, so that a mistake in either shows as refused captures.
 */

// SPEC: GS1 General Specifications §7.9.1: the check digit of a GTIN or GLN (weights 3, 1 from the right).
export function withCheckDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) sum += Number(digits[digits.length - 1 - i]) * (i % 2 === 0 ? 3 : 1);
  return `${digits}${(10 - (sum % 10)) % 10}`;
}

// SPEC: TDS 2.x §6.3.1 (SGTIN: company prefix . indicator digit + item reference . serial) and §6.3.3 (SGLN with
// extension 0). Serials here are alphanumeric: nothing to escape.
export const sgtinUri = (gtin: string, serial: string, prefixLength: number) =>
  `urn:epc:id:sgtin:${gtin.slice(1, 1 + prefixLength)}.${gtin[0]}${gtin.slice(1 + prefixLength, 13)}.${serial}`;
export const sglnUri = (gln: string, prefixLength: number) =>
  `urn:epc:id:sgln:${gln.slice(0, prefixLength)}.${gln.slice(prefixLength, 12)}.0`;

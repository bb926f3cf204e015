import { fail, IdentifierErrorCode, ok, type Parsed } from './result';

// SPEC: GS1 General Specifications §7.11 Figure 7.11-1, "GS1 AI encodable character set 82": ! " % & ' ( ) * + , -
// . / 0-9 : ; < = > ? A-Z _ a-z. (0x25–0x3F is exactly % & ' ( ) * + , - . / 0-9 : ; < = > ?)
const CSET_82 = /^[!"%-?A-Z_a-z]*$/;

// SPEC: GS1 General Specifications §3.2 (AI table): AI 21 serial number "X..20", AI 10 batch/lot "X..20".
export const SERIAL_MAX_LENGTH = 20;
export const LOT_MAX_LENGTH = 20;

/** True when every character of `value` is in GS1 AI encodable character set 82. */
export function isCset82(value: string): boolean {
  return CSET_82.test(value);
}

/** AI 21: 1–20 characters of character set 82. */
export function parseSerial(serial: string): Parsed<string> {
  if (serial.length === 0 || serial.length > SERIAL_MAX_LENGTH) {
    return fail(IdentifierErrorCode.BAD_SERIAL, `a serial (AI 21) is 1 to ${SERIAL_MAX_LENGTH} characters`);
  }
  if (!isCset82(serial)) {
    return fail(IdentifierErrorCode.BAD_SERIAL, 'a serial (AI 21) uses only GS1 AI encodable character set 82');
  }
  return ok(serial);
}

/** AI 10: 1–20 characters of character set 82. */
export function parseLot(lot: string): Parsed<string> {
  if (lot.length === 0 || lot.length > LOT_MAX_LENGTH) {
    return fail(IdentifierErrorCode.BAD_LOT, `a batch/lot (AI 10) is 1 to ${LOT_MAX_LENGTH} characters`);
  }
  if (!isCset82(lot)) {
    return fail(IdentifierErrorCode.BAD_LOT, 'a batch/lot (AI 10) uses only GS1 AI encodable character set 82');
  }
  return ok(lot);
}

/** An AI 17 expiry date resolved to a calendar day. */
export interface Expiry {
  /** The element string as carried: YYMMDD. */
  readonly yymmdd: string;
  /** The calendar day it denotes, `YYYY-MM-DD`. */
  readonly date: string;
  /** DD was 00: the date is the last day of the month (GS1 GenSpecs §3.4.6). */
  readonly endOfMonth: boolean;
}

/**
 * AI 17 (expiration date, YYMMDD). `today` fixes the century.
 * SPEC: GS1 General Specifications §7.12 "Determination of century in dates": with YY the year in the date and CY
 * the last two digits of the current year, if YY − CY is 51…99 the year is in the previous century; if −99…−50 in
 * the next century; otherwise in the current century.
 * SPEC: GS1 General Specifications §3.4.6 (AI 17): "If only year and month are available, DD must be filled with
 * two zeroes", meaning the last day of that month.
 */
export function parseExpiry(yymmdd: string, today: Date): Parsed<Expiry> {
  const match = /^(\d{2})(\d{2})(\d{2})$/.exec(yymmdd);
  if (!match) return fail(IdentifierErrorCode.BAD_EXPIRY, `an expiry date (AI 17) is YYMMDD, got '${yymmdd}'`);
  const [yy, mm, dd] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const currentYear = today.getUTCFullYear();
  const cy = currentYear % 100;
  const century = currentYear - cy;
  const diff = yy - cy;
  const year = diff >= 51 ? century - 100 + yy : diff <= -50 ? century + 100 + yy : century + yy;
  if (mm < 1 || mm > 12) return fail(IdentifierErrorCode.BAD_EXPIRY, `expiry ${yymmdd}: month ${mm} does not exist`);
  const lastDay = new Date(Date.UTC(year, mm, 0)).getUTCDate();
  if (dd > lastDay) {
    return fail(IdentifierErrorCode.BAD_EXPIRY, `expiry ${yymmdd}: ${year}-${pad2(mm)} has ${lastDay} days`);
  }
  const day = dd === 0 ? lastDay : dd;
  return ok({ yymmdd, date: `${year}-${pad2(mm)}-${pad2(day)}`, endOfMonth: dd === 0 });
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

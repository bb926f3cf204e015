/**
 * EPC pure-identity URIs for the keys supply tracks: SGTIN (a serialised pack), SGLN (a location) and the LGTIN
 * class (a lot of a trade item).
 * SPEC: GS1 EPC Tag Data Standard (TDS) 2.x §6.3.1 SGTIN, §6.3.3 SGLN, §6.4.1 LGTIN (pure-identity and class URI
 * syntax) and its Table A-1 (characters of a GS3A3 component: which must be written as %-escapes in a URI).
 */
import { isCset82, parseLot, parseSerial } from './application-identifiers';
import { parseGln, parseGtin, withCheckDigit } from './check-digit';
import { fail, IdentifierErrorCode, ok, type Parsed } from './result';

// SPEC: TDS 2.x §6.3.1: a GS1 Company Prefix has 6 to 12 digits; with the indicator/item reference it makes 13.
export const COMPANY_PREFIX_MIN = 6;
export const COMPANY_PREFIX_MAX = 12;
const GTIN_BODY_DIGITS = 13; // GTIN-14 without its check digit
const GLN_BODY_DIGITS = 12; // GLN without its check digit
// SPEC: GS1 General Specifications §3.2: AI 254 (GLN extension component) is X..20.
const GLN_EXTENSION_MAX_LENGTH = 20;

// SPEC: TDS 2.x Table A-1: of character set 82, these are written as %-escapes in an EPC URI; all others as is.
const MUST_ESCAPE = new Set(['"', '%', '&', '/', '<', '>', '?']);

export interface Sgtin {
  /** GTIN-14. */
  readonly gtin: string;
  /** AI 21 serial, decoded. */
  readonly serial: string;
  /** Digits of the GTIN (after the indicator) that are the GS1 Company Prefix: the URI needs it, the GTIN hides it. */
  readonly companyPrefixLength: number;
}

export interface Sgln {
  /** GLN-13. */
  readonly gln: string;
  /** AI 254 extension, decoded; absent when the URI carries the "no extension" value 0. */
  readonly extension?: string;
  readonly companyPrefixLength: number;
}

export interface Lgtin {
  readonly gtin: string;
  /** AI 10 batch/lot, decoded. */
  readonly lot: string;
  readonly companyPrefixLength: number;
}

/** Writes a character-set-82 component the way TDS wants it in a URI. */
export function encodeEpcComponent(value: string): string {
  let out = '';
  for (const ch of value) {
    out += MUST_ESCAPE.has(ch) ? `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}` : ch;
  }
  return out;
}

/** Reads a URI component: raw characters of set 82 that need no escape, or %-escapes; undefined when malformed. */
export function decodeEpcComponent(component: string): string | undefined {
  let out = '';
  for (let i = 0; i < component.length; i++) {
    const ch = component.charAt(i);
    if (ch === '%') {
      const hex = component.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      out += String.fromCharCode(parseInt(hex, 16));
      i += 2;
    } else if (MUST_ESCAPE.has(ch) || !isCset82(ch)) {
      return undefined;
    } else {
      out += ch;
    }
  }
  return isCset82(out) ? out : undefined;
}

const SGTIN_URN = /^urn:epc:id:sgtin:(\d+)\.(\d+)\.(.+)$/;
const SGLN_URN = /^urn:epc:id:sgln:(\d+)\.(\d*)\.(.+)$/;
const LGTIN_URN = /^urn:epc:class:lgtin:(\d+)\.(\d+)\.(.+)$/;

function companyPrefixOk(prefix: string, rest: string, total: number): boolean {
  return (
    prefix.length >= COMPANY_PREFIX_MIN && prefix.length <= COMPANY_PREFIX_MAX && prefix.length + rest.length === total
  );
}

/** `indicator + itemRef` and the company prefix put back in GTIN order, with the check digit computed. */
function gtinFrom(companyPrefix: string, indicatorItemRef: string): string {
  return withCheckDigit(`${indicatorItemRef.charAt(0)}${companyPrefix}${indicatorItemRef.slice(1)}`);
}

export function parseSgtinUri(uri: string): Parsed<Sgtin> {
  const m = SGTIN_URN.exec(uri);
  if (!m) return fail(IdentifierErrorCode.BAD_IDENTIFIER, `not an SGTIN URI: '${uri}'`);
  const [prefix, itemRef, rawSerial] = [m[1] ?? '', m[2] ?? '', m[3] ?? ''];
  if (!companyPrefixOk(prefix, itemRef, GTIN_BODY_DIGITS)) {
    return fail(IdentifierErrorCode.BAD_IDENTIFIER, `SGTIN ${uri}: company prefix and item reference make 13 digits`);
  }
  const decoded = decodeEpcComponent(rawSerial);
  if (decoded === undefined)
    return fail(IdentifierErrorCode.BAD_SERIAL, `SGTIN ${uri}: serial is not a valid URI component`);
  const serial = parseSerial(decoded);
  if (!serial.ok) return serial;
  return ok({ gtin: gtinFrom(prefix, itemRef), serial: serial.value, companyPrefixLength: prefix.length });
}

export function formatSgtinUri(sgtin: Sgtin): Parsed<string> {
  const gtin = parseGtin(sgtin.gtin);
  if (!gtin.ok) return gtin;
  const serial = parseSerial(sgtin.serial);
  if (!serial.ok) return serial;
  const cpl = sgtin.companyPrefixLength;
  if (!Number.isInteger(cpl) || cpl < COMPANY_PREFIX_MIN || cpl > COMPANY_PREFIX_MAX) {
    return fail(IdentifierErrorCode.BAD_IDENTIFIER, `a company prefix has 6 to 12 digits, got ${cpl}`);
  }
  const g = gtin.value;
  return ok(
    `urn:epc:id:sgtin:${g.slice(1, 1 + cpl)}.${g.charAt(0)}${g.slice(1 + cpl, 13)}.${encodeEpcComponent(serial.value)}`,
  );
}

export function parseSglnUri(uri: string): Parsed<Sgln> {
  const m = SGLN_URN.exec(uri);
  if (!m) return fail(IdentifierErrorCode.BAD_IDENTIFIER, `not an SGLN URI: '${uri}'`);
  const [prefix, locationRef, rawExtension] = [m[1] ?? '', m[2] ?? '', m[3] ?? ''];
  if (!companyPrefixOk(prefix, locationRef, GLN_BODY_DIGITS)) {
    return fail(
      IdentifierErrorCode.BAD_IDENTIFIER,
      `SGLN ${uri}: company prefix and location reference make 12 digits`,
    );
  }
  const extension = decodeEpcComponent(rawExtension);
  if (extension === undefined || extension.length > GLN_EXTENSION_MAX_LENGTH) {
    return fail(IdentifierErrorCode.BAD_IDENTIFIER, `SGLN ${uri}: extension is not 1 to 20 characters of set 82`);
  }
  const gln = withCheckDigit(`${prefix}${locationRef}`);
  // SPEC: TDS 2.x §6.3.3: the extension value 0 means "no GLN extension".
  return ok(
    extension === '0'
      ? { gln, companyPrefixLength: prefix.length }
      : { gln, extension, companyPrefixLength: prefix.length },
  );
}

export function formatSglnUri(sgln: Sgln): Parsed<string> {
  const gln = parseGln(sgln.gln);
  if (!gln.ok) return gln;
  const cpl = sgln.companyPrefixLength;
  if (!Number.isInteger(cpl) || cpl < COMPANY_PREFIX_MIN || cpl > COMPANY_PREFIX_MAX) {
    return fail(IdentifierErrorCode.BAD_IDENTIFIER, `a company prefix has 6 to 12 digits, got ${cpl}`);
  }
  const extension = sgln.extension ?? '0';
  if (extension.length === 0 || extension.length > GLN_EXTENSION_MAX_LENGTH || !isCset82(extension)) {
    return fail(IdentifierErrorCode.BAD_IDENTIFIER, 'a GLN extension (AI 254) is 1 to 20 characters of set 82');
  }
  const g = gln.value;
  return ok(`urn:epc:id:sgln:${g.slice(0, cpl)}.${g.slice(cpl, 12)}.${encodeEpcComponent(extension)}`);
}

export function parseLgtinUri(uri: string): Parsed<Lgtin> {
  const m = LGTIN_URN.exec(uri);
  if (!m) return fail(IdentifierErrorCode.BAD_IDENTIFIER, `not an LGTIN class URI: '${uri}'`);
  const [prefix, itemRef, rawLot] = [m[1] ?? '', m[2] ?? '', m[3] ?? ''];
  if (!companyPrefixOk(prefix, itemRef, GTIN_BODY_DIGITS)) {
    return fail(IdentifierErrorCode.BAD_IDENTIFIER, `LGTIN ${uri}: company prefix and item reference make 13 digits`);
  }
  const decoded = decodeEpcComponent(rawLot);
  if (decoded === undefined) return fail(IdentifierErrorCode.BAD_LOT, `LGTIN ${uri}: lot is not a valid URI component`);
  const lot = parseLot(decoded);
  if (!lot.ok) return lot;
  return ok({ gtin: gtinFrom(prefix, itemRef), lot: lot.value, companyPrefixLength: prefix.length });
}

export function formatLgtinUri(lgtin: Lgtin): Parsed<string> {
  const gtin = parseGtin(lgtin.gtin);
  if (!gtin.ok) return gtin;
  const lot = parseLot(lgtin.lot);
  if (!lot.ok) return lot;
  const cpl = lgtin.companyPrefixLength;
  if (!Number.isInteger(cpl) || cpl < COMPANY_PREFIX_MIN || cpl > COMPANY_PREFIX_MAX) {
    return fail(IdentifierErrorCode.BAD_IDENTIFIER, `a company prefix has 6 to 12 digits, got ${cpl}`);
  }
  const g = gtin.value;
  return ok(
    `urn:epc:class:lgtin:${g.slice(1, 1 + cpl)}.${g.charAt(0)}${g.slice(1 + cpl, 13)}.${encodeEpcComponent(lot.value)}`,
  );
}

/**
 * GS1 Digital Link URIs for a trade item: GTIN (AI 01) with its key qualifiers batch/lot (AI 10) and serial
 * (AI 21), and the expiry date (AI 17) as a data attribute.
 * SPEC: GS1 Digital Link: URI Syntax 1.2, §4 (path: any host, optional path prefix, primary key then key
 * qualifiers in the order 22, 10, 21; data attributes in the query string), §4.11 (canonical form: host
 * id.gs1.org, numeric AIs, GTIN as 14 digits) and §7 (values are percent-encoded).
 */
import { type Expiry, parseExpiry, parseLot, parseSerial, isCset82 } from './application-identifiers';
import { parseGtin } from './check-digit';
import { type Sgtin, parseSgtinUri, formatSgtinUri } from './epc-uri';
import { fail, IdentifierErrorCode, ok, type Parsed } from './result';

export const CANONICAL_DIGITAL_LINK_HOST = 'https://id.gs1.org';
// SPEC: GS1 General Specifications §3.2: AI 22 (consumer product variant) is X..20.
const CPV_MAX_LENGTH = 20;
// SPEC: GS1 Digital Link 1.2 §4.5: the key qualifiers of AI 01, in the only order they may appear.
const GTIN_QUALIFIERS: readonly string[] = ['22', '10', '21'];

export interface DigitalLink {
  /** GTIN-14 (a GTIN-8/12/13 in the URI is zero-padded). */
  readonly gtin: string;
  readonly cpv?: string;
  readonly lot?: string;
  readonly serial?: string;
  readonly expiry?: Expiry;
}

/**
 * Reads a GS1 Digital Link URI on any host. `today` resolves the century of an AI 17 expiry date. Query
 * parameters that are not AIs 10 or 17 are ignored (Digital Link allows other attributes and non-GS1 parameters).
 */
export function parseDigitalLink(uri: string, today: Date): Parsed<DigitalLink> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return fail(IdentifierErrorCode.BAD_IDENTIFIER, `not a URI: '${uri}'`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return fail(IdentifierErrorCode.BAD_IDENTIFIER, `a Digital Link URI is http(s), got '${url.protocol}'`);
  }
  const segments = url.pathname.split('/').slice(1);
  if (segments.at(-1) === '') segments.pop();
  const start = findGtinPath(segments);
  if (start === undefined) {
    return fail(IdentifierErrorCode.BAD_IDENTIFIER, `no /01/{gtin} path with qualifiers 22, 10, 21 in order: '${uri}'`);
  }
  const path = new Map<string, string>();
  for (let i = start; i < segments.length; i += 2) {
    const value = decode(segments[i + 1] ?? '');
    if (value === undefined) return fail(IdentifierErrorCode.BAD_IDENTIFIER, `bad percent-encoding in '${uri}'`);
    path.set(segments[i] ?? '', value);
  }
  const query = new Map<string, string>();
  for (const pair of url.search.replace(/^\?/, '').split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const [key, value] = eq < 0 ? [decode(pair), ''] : [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))];
    if (key === undefined || value === undefined) {
      return fail(IdentifierErrorCode.BAD_IDENTIFIER, `bad percent-encoding in '${uri}'`);
    }
    if (query.has(key)) return fail(IdentifierErrorCode.BAD_IDENTIFIER, `query parameter ${key} appears twice`);
    query.set(key, value);
  }

  const gtin = parseGtin(path.get('01') ?? '');
  if (!gtin.ok) return gtin;
  let result: DigitalLink = { gtin: gtin.value };

  const cpv = path.get('22');
  if (cpv !== undefined) {
    if (cpv.length === 0 || cpv.length > CPV_MAX_LENGTH || !isCset82(cpv)) {
      return fail(
        IdentifierErrorCode.BAD_IDENTIFIER,
        'a consumer product variant (AI 22) is 1 to 20 characters of set 82',
      );
    }
    result = { ...result, cpv };
  }
  const pathLot = path.get('10');
  const queryLot = query.get('10');
  if (pathLot !== undefined && queryLot !== undefined && pathLot !== queryLot) {
    return fail(IdentifierErrorCode.BAD_LOT, 'batch/lot (AI 10) differs between path and query');
  }
  const lotValue = pathLot ?? queryLot;
  if (lotValue !== undefined) {
    const lot = parseLot(lotValue);
    if (!lot.ok) return lot;
    result = { ...result, lot: lot.value };
  }
  const serialValue = path.get('21');
  if (serialValue !== undefined) {
    const serial = parseSerial(serialValue);
    if (!serial.ok) return serial;
    result = { ...result, serial: serial.value };
  }
  if (query.has('21')) {
    return fail(IdentifierErrorCode.BAD_SERIAL, 'a serial (AI 21) is a key qualifier: it belongs in the path');
  }
  const expiryValue = query.get('17');
  if (expiryValue !== undefined) {
    const expiry = parseExpiry(expiryValue, today);
    if (!expiry.ok) return expiry;
    result = { ...result, expiry: expiry.value };
  }
  return ok(result);
}

/**
 * Writes the canonical Digital Link URI (§4.11): host id.gs1.org unless `host` is given, GTIN-14, key qualifiers
 * in the path in the order 22, 10, 21, the expiry date as query parameter 17.
 */
export function composeDigitalLink(link: DigitalLink, host: string = CANONICAL_DIGITAL_LINK_HOST): Parsed<string> {
  const gtin = parseGtin(link.gtin);
  if (!gtin.ok) return gtin;
  let uri = `${host.replace(/\/+$/, '')}/01/${gtin.value}`;
  if (link.cpv !== undefined) {
    if (link.cpv.length === 0 || link.cpv.length > CPV_MAX_LENGTH || !isCset82(link.cpv)) {
      return fail(
        IdentifierErrorCode.BAD_IDENTIFIER,
        'a consumer product variant (AI 22) is 1 to 20 characters of set 82',
      );
    }
    uri += `/22/${encode(link.cpv)}`;
  }
  if (link.lot !== undefined) {
    const lot = parseLot(link.lot);
    if (!lot.ok) return lot;
    uri += `/10/${encode(lot.value)}`;
  }
  if (link.serial !== undefined) {
    const serial = parseSerial(link.serial);
    if (!serial.ok) return serial;
    uri += `/21/${encode(serial.value)}`;
  }
  if (link.expiry !== undefined) uri += `?17=${link.expiry.yymmdd}`;
  return ok(uri);
}

/** urn:epc:id:sgtin → canonical Digital Link (GTIN + serial). */
export function sgtinUriToDigitalLink(uri: string): Parsed<string> {
  const sgtin = parseSgtinUri(uri);
  if (!sgtin.ok) return sgtin;
  return composeDigitalLink({ gtin: sgtin.value.gtin, serial: sgtin.value.serial });
}

/**
 * Digital Link (GTIN + serial) → urn:epc:id:sgtin. The URI does not say where the company prefix ends: the
 * caller knows it from GS1 company prefix data, so it is a parameter.
 */
export function digitalLinkToSgtinUri(uri: string, companyPrefixLength: number, today: Date): Parsed<string> {
  const link = parseDigitalLink(uri, today);
  if (!link.ok) return link;
  if (link.value.serial === undefined) {
    return fail(IdentifierErrorCode.BAD_SERIAL, 'an SGTIN needs a serial (AI 21) in the Digital Link URI');
  }
  const sgtin: Sgtin = { gtin: link.value.gtin, serial: link.value.serial, companyPrefixLength };
  return formatSgtinUri(sgtin);
}

/** The first "01" segment from which the rest of the path is AI/value pairs with 01's qualifiers in order. */
function findGtinPath(segments: readonly string[]): number | undefined {
  for (let i = 0; i < segments.length; i++) {
    if (segments[i] !== '01' || (segments.length - i) % 2 !== 0) continue;
    let last = -1;
    let fits = true;
    for (let j = i + 2; j < segments.length; j += 2) {
      const rank = GTIN_QUALIFIERS.indexOf(segments[j] ?? '');
      if (rank <= last) {
        fits = false;
        break;
      }
      last = rank;
    }
    if (fits) return i;
  }
  return undefined;
}

function decode(component: string): string | undefined {
  try {
    return decodeURIComponent(component);
  } catch {
    return undefined;
  }
}

// SPEC: GS1 Digital Link 1.2 §7 (Table 7-1): characters of set 82 outside RFC 3986 "unreserved" are %-encoded.
function encode(value: string): string {
  return value.replace(
    /[^A-Za-z0-9\-._~]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

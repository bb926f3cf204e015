/**
 * The GS1 keys capture reads out of EPCIS events, each to the one form custody keys its state by: an EPC to its
 * SGTIN or SSCC pure-identity URN (custody's `identify` reads only those), a location or a party to its GLN-13.
 * SPEC: GS1 EPC Tag Data Standard (TDS) 2.x §6.3.1 SGTIN, §6.3.2 SSCC, §6.3.3 SGLN, §6.3.15 PGLN; GS1 Digital
 * Link URI Syntax 1.2 §4 (primary keys 01, 00, 414 with key qualifier 254, 417); GS1 General Specifications §3.2.
 */
import { parseDigitalLink } from '../../identifiers/domain/digital-link';
import {
  COMPANY_PREFIX_MAX,
  COMPANY_PREFIX_MIN,
  formatSgtinUri,
  parseSglnUri,
  parseSgtinUri,
} from '../../identifiers/domain/epc-uri';
import { gs1CheckDigit, hasValidCheckDigit, parseGln, withCheckDigit } from '../../identifiers/domain/check-digit';
import type { IdentifierErrorCode } from '../../identifiers/domain/result';

export type KeyFailureCode = IdentifierErrorCode | 'SUPPLY.UNSUPPORTED_EVENT';

export interface KeyFailure {
  readonly ok: false;
  readonly code: KeyFailureCode;
  readonly message: string;
}

export type KeyResult<T> = { readonly ok: true; readonly value: T } | KeyFailure;

/**
 * The length of the GS1 Company Prefix inside a GTIN-14 or an SSCC-18 (in GS1's company prefix length table the
 * digits after the indicator or extension digit decide it); undefined when unknown. A Digital Link URI does not
 * say where the prefix ends, and the EPC URN custody needs does.
 */
export type CompanyPrefixLength = (key: string) => number | undefined;

export interface Unit {
  /** SGTIN or SSCC pure-identity URN, as custody keys it. */
  readonly epc: string;
  /** GTIN-14 of an SGTIN. */
  readonly gtin?: string;
}

const failure = (code: KeyFailureCode, message: string): KeyFailure => ({ ok: false, code, message });

// SPEC: TDS 2.x §6.3.2: company prefix (6–12 digits) '.' extension digit + serial reference: 17 digits in all.
const SSCC_URN = /^urn:epc:id:sscc:(\d+)\.(\d+)$/;
const SSCC_BODY_DIGITS = 17;
// SPEC: TDS 2.x §6.3.15: urn:epc:id:pgln:CompanyPrefix.PartyReference, 12 digits in all (the GLN without its
// check digit).
const PGLN_URN = /^urn:epc:id:pgln:(\d+)\.(\d*)$/;
const GLN_BODY_DIGITS = 12;
const EPC_URN = /^urn:epc:id:[a-z0-9]+:/;

function companyPrefixLengthOk(n: number | undefined): n is number {
  return n !== undefined && Number.isInteger(n) && n >= COMPANY_PREFIX_MIN && n <= COMPANY_PREFIX_MAX;
}

function httpUrl(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A serialised unit named in epcList, childEPCs or parentID. SGTIN URNs are rewritten in canonical form (TDS
 * escapes only where Table A-1 requires them) so that one pack has one key; Digital Link URIs (01 + 21, or 00) become
 * URNs when `companyPrefixLength` knows the prefix, and are refused otherwise (see normalise.ts).
 */
export function readUnit(
  value: unknown,
  companyPrefixLength: CompanyPrefixLength | undefined,
  today: Date,
): KeyResult<Unit> {
  if (typeof value !== 'string') return failure('SUPPLY.BAD_IDENTIFIER', 'an EPC is a URI string');
  if (value.startsWith('urn:epc:id:sgtin:')) {
    const sgtin = parseSgtinUri(value);
    if (!sgtin.ok) return failure(sgtin.code, sgtin.reason);
    const canonical = formatSgtinUri(sgtin.value);
    if (!canonical.ok) return failure(canonical.code, canonical.reason);
    return { ok: true, value: { epc: canonical.value, gtin: sgtin.value.gtin } };
  }
  if (value.startsWith('urn:epc:id:sscc:')) {
    const m = SSCC_URN.exec(value);
    const [prefix, reference] = [m?.[1] ?? '', m?.[2] ?? ''];
    if (!m || !companyPrefixLengthOk(prefix.length) || prefix.length + reference.length !== SSCC_BODY_DIGITS) {
      return failure(
        'SUPPLY.BAD_IDENTIFIER',
        `SSCC ${value}: company prefix (6 to 12 digits) and serial reference make 17 digits`,
      );
    }
    return { ok: true, value: { epc: value } };
  }
  if (EPC_URN.test(value)) {
    return failure(
      'SUPPLY.UNSUPPORTED_EVENT',
      `${value}: supply tracks serialised trade items (SGTIN) and logistic units (SSCC) only`,
    );
  }
  const url = httpUrl(value);
  if (!url) return failure('SUPPLY.BAD_IDENTIFIER', `not an EPC URN or a GS1 Digital Link URI: '${value}'`);
  const sscc = /\/00\/([^/]+)\/?$/.exec(url.pathname);
  if (sscc) return ssccFromDigitalLink(value, sscc[1] ?? '', companyPrefixLength);
  if (!/\/01\//.test(url.pathname)) {
    return failure(
      'SUPPLY.UNSUPPORTED_EVENT',
      `${value}: supply tracks serialised trade items (01 + 21) and logistic units (00) only`,
    );
  }
  const link = parseDigitalLink(value, today);
  if (!link.ok) return failure(link.code, link.reason);
  if (link.value.serial === undefined) {
    return failure('SUPPLY.BAD_IDENTIFIER', `${value} names a trade item or a lot, not a serialised pack (no AI 21)`);
  }
  const cpl = companyPrefixLength?.(link.value.gtin);
  if (!companyPrefixLengthOk(cpl)) {
    return failure(
      'SUPPLY.UNSUPPORTED_EVENT',
      `${value}: the GS1 Company Prefix length of GTIN ${link.value.gtin} is not known here; send the SGTIN URN`,
    );
  }
  const urn = formatSgtinUri({ gtin: link.value.gtin, serial: link.value.serial, companyPrefixLength: cpl });
  if (!urn.ok) return failure(urn.code, urn.reason);
  return { ok: true, value: { epc: urn.value, gtin: link.value.gtin } };
}

// SPEC: GS1 General Specifications §2.2.1: SSCC-18 = extension digit, company prefix, serial reference, check digit.
function ssccFromDigitalLink(
  uri: string,
  sscc: string,
  companyPrefixLength: CompanyPrefixLength | undefined,
): KeyResult<Unit> {
  if (!/^\d{18}$/.test(sscc)) return failure('SUPPLY.BAD_IDENTIFIER', `${uri}: an SSCC is 18 digits`);
  if (!hasValidCheckDigit(sscc)) {
    return failure(
      'SUPPLY.BAD_CHECK_DIGIT',
      `SSCC ${sscc}: check digit ${sscc.slice(-1)}, expected ${gs1CheckDigit(sscc.slice(0, -1))}`,
    );
  }
  const cpl = companyPrefixLength?.(sscc);
  if (!companyPrefixLengthOk(cpl)) {
    return failure(
      'SUPPLY.UNSUPPORTED_EVENT',
      `${uri}: the GS1 Company Prefix length of SSCC ${sscc} is not known here; send the SSCC URN`,
    );
  }
  return {
    ok: true,
    value: { epc: `urn:epc:id:sscc:${sscc.slice(1, 1 + cpl)}.${sscc.charAt(0)}${sscc.slice(1 + cpl, 17)}` },
  };
}

/**
 * The GLN-13 of a readPoint or bizLocation (`location`), or of an owning / possessing party (`party`): an SGLN
 * without its extension, a PGLN (parties), or a Digital Link /414/ (with an optional /254/ extension) or /417/
 * (parties). EPCIS 1.x documents name parties by SGLN, so parties accept every form.
 */
export function readGln(value: unknown, kind: 'location' | 'party'): KeyResult<string> {
  const expected =
    kind === 'location'
      ? 'a location is an SGLN URN or a GS1 Digital Link /414/ URI'
      : 'a party is a PGLN or SGLN URN or a GS1 Digital Link /417/ or /414/ URI';
  if (typeof value !== 'string') return failure('SUPPLY.BAD_IDENTIFIER', expected);
  if (value.startsWith('urn:epc:id:sgln:')) {
    const sgln = parseSglnUri(value);
    return sgln.ok ? { ok: true, value: sgln.value.gln } : failure(sgln.code, sgln.reason);
  }
  if (kind === 'party' && value.startsWith('urn:epc:id:pgln:')) {
    const m = PGLN_URN.exec(value);
    const [prefix, reference] = [m?.[1] ?? '', m?.[2] ?? ''];
    if (!m || !companyPrefixLengthOk(prefix.length) || prefix.length + reference.length !== GLN_BODY_DIGITS) {
      return failure('SUPPLY.BAD_IDENTIFIER', `PGLN ${value}: company prefix and party reference make 12 digits`);
    }
    return { ok: true, value: withCheckDigit(`${prefix}${reference}`) };
  }
  const url = httpUrl(value);
  const path = url?.pathname ?? '';
  const m =
    /\/414\/([^/]+)(?:\/254\/[^/]+)?\/?$/.exec(path) ?? (kind === 'party' ? /\/417\/([^/]+)\/?$/.exec(path) : null);
  if (!m) return failure('SUPPLY.BAD_IDENTIFIER', `${expected}, got '${value}'`);
  const gln = parseGln(m[1] ?? '');
  return gln.ok ? { ok: true, value: gln.value } : failure(gln.code, gln.reason);
}

/**
 * The identifier rule of the EPCIS event hash: every EPC URI, EPC class URI, EPC pattern URI and GS1 Digital Link
 * URI in an event becomes a constrained canonical GS1 Digital Link URI, so that the same object named two ways
 * hashes the same.
 * SPEC: GS1 CBV 2.0 §8.9 (EPCIS event hash ID), pre-hash rules 17 and 18: EPC URIs (urn:epc:id, urn:epc:class,
 * urn:epc:idpat) become canonical Digital Link URIs (GS1 Digital Link 1.2 §4.11); a Digital Link URI gets host
 * id.gs1.org, loses its query string and keeps only the finest key level (serial over lot, no CPV).
 * The details the standard's prose leaves open (which characters are %-encoded, which value syntax is accepted)
 * follow GS1's reference implementation, RalphTro/epcis-event-hash-generator (dl_normaliser.py), whose
 * published hashes are the known answers in event-hash.spec.ts.
 */
import { withCheckDigit } from '../../identifiers/domain';

const DL = 'https://id.gs1.org';

// The reference implementation %-encodes only these characters of a component when it writes a Digital Link URI
// from an EPC URI (GS1 Digital Link 1.2 Table 7-1, restricted to those an EPC URI can carry unescaped).
const HASH_DL_ESCAPES: Readonly<Record<string, string>> = {
  '!': '%21',
  '(': '%28',
  ')': '%29',
  '*': '%2A',
  '+': '%2B',
  ',': '%2C',
  ':': '%3A',
};

function dlEncode(component: string): string {
  return component.replace(/[!()*+,:]/g, (ch) => HASH_DL_ESCAPES[ch] ?? ch);
}

// SPEC: TDS 2.x Table A-1: a GS3A3 component is raw characters of this set or %-escapes of set-82 characters.
const COMPONENT =
  "(?:%2[125-9A-Fa-f]|%3[0-9A-Fa-f]|%4[1-9A-Fa-f]|%5[0-9AaFf]|%6[1-9A-Fa-f]|%7[0-9Aa]|[!')(*+,.0-9:;=A-Za-z_-])";
// SPEC: TDS 2.x Table A-2: CPI component reference characters (digits, upper case, '-', %-escaped '#' and '/').
const CPI_COMPONENT = '(?:%2[3dfDF]|%3[0-9]|%4[1-9A-Fa-f]|%5[0-9Aa]|[0-9A-Z-])';

function component(min: number, max: number): string {
  return `(${COMPONENT}{${min},${max}})`;
}

/** prefix.reference where the two have `total` digits and the company prefix 6 to 12 (TDS §6.3). */
function split(prefix: string, reference: string, total: number): boolean {
  return prefix.length >= 6 && prefix.length <= 12 && prefix.length + reference.length === total;
}

/** GTIN-14 from company prefix and indicator + item reference (TDS §6.3.1). */
function gtin(prefix: string, indicatorItemRef: string): string {
  return withCheckDigit(`${indicatorItemRef.charAt(0)}${prefix}${indicatorItemRef.slice(1)}`);
}

type Rule = readonly [RegExp, (m: readonly string[]) => string | undefined];

const at = (m: readonly string[], i: number): string => m[i] ?? '';

// SPEC: TDS 2.x §6.3 (pure identity URIs), §6.4 (class URIs), §8 (pattern URIs); GS1 Digital Link 1.2 §4 for the
// AI each one becomes.
const EPC_RULES: readonly Rule[] = [
  [
    new RegExp(`^urn:epc:id:sgtin:(\\d+)\\.(\\d+)\\.${component(1, 20)}$`),
    (m) =>
      split(at(m, 1), at(m, 2), 13) ? `${DL}/01/${gtin(at(m, 1), at(m, 2))}/21/${dlEncode(at(m, 3))}` : undefined,
  ],
  [
    /^urn:epc:id:sscc:(\d+)\.(\d+)$/,
    (m) => {
      const [prefix, ref] = [at(m, 1), at(m, 2)];
      return split(prefix, ref, 17)
        ? `${DL}/00/${withCheckDigit(`${ref.charAt(0)}${prefix}${ref.slice(1)}`)}`
        : undefined;
    },
  ],
  [
    new RegExp(`^urn:epc:id:sgln:(\\d+)\\.(\\d*)\\.${component(1, 20)}$`),
    (m) => {
      if (!split(at(m, 1), at(m, 2), 12)) return undefined;
      const gln = withCheckDigit(`${at(m, 1)}${at(m, 2)}`);
      // SPEC: TDS §6.3.3: extension 0 means none.
      return at(m, 3) === '0' ? `${DL}/414/${gln}` : `${DL}/414/${gln}/254/${dlEncode(at(m, 3))}`;
    },
  ],
  [
    new RegExp(`^urn:epc:id:grai:(\\d+)\\.(\\d*)\\.${component(1, 16)}$`),
    (m) =>
      split(at(m, 1), at(m, 2), 12)
        ? `${DL}/8003/${withCheckDigit(`0${at(m, 1)}${at(m, 2)}`)}${dlEncode(at(m, 3))}`
        : undefined,
  ],
  [
    new RegExp(`^urn:epc:id:giai:(\\d{6,12})\\.${component(1, 24)}$`),
    (m) => (at(m, 1).length + at(m, 2).length <= 30 ? `${DL}/8004/${at(m, 1)}${dlEncode(at(m, 2))}` : undefined),
  ],
  [
    /^urn:epc:id:gsrn:(\d+)\.(\d+)$/,
    (m) => (split(at(m, 1), at(m, 2), 17) ? `${DL}/8018/${withCheckDigit(`${at(m, 1)}${at(m, 2)}`)}` : undefined),
  ],
  [
    /^urn:epc:id:gsrnp:(\d+)\.(\d+)$/,
    (m) => (split(at(m, 1), at(m, 2), 17) ? `${DL}/8017/${withCheckDigit(`${at(m, 1)}${at(m, 2)}`)}` : undefined),
  ],
  [
    new RegExp(`^urn:epc:id:gdti:(\\d+)\\.(\\d*)\\.${component(0, 17)}$`),
    (m) =>
      split(at(m, 1), at(m, 2), 12)
        ? `${DL}/253/${withCheckDigit(`${at(m, 1)}${at(m, 2)}`)}${dlEncode(at(m, 3))}`
        : undefined,
  ],
  [
    new RegExp(`^urn:epc:id:cpi:(\\d{6,12})\\.(${CPI_COMPONENT}{1,24})\\.(\\d{1,12})$`),
    (m) => `${DL}/8010/${dlEncode(`${at(m, 1)}${at(m, 2)}`)}/8011/${at(m, 3)}`,
  ],
  [
    /^urn:epc:id:sgcn:(\d+)\.(\d*)\.(\d{1,12})$/,
    (m) =>
      split(at(m, 1), at(m, 2), 12) ? `${DL}/255/${withCheckDigit(`${at(m, 1)}${at(m, 2)}`)}${at(m, 3)}` : undefined,
  ],
  [
    new RegExp(`^urn:epc:id:ginc:(\\d{6,12})\\.${component(1, 24)}$`),
    (m) => (at(m, 1).length + at(m, 2).length <= 30 ? `${DL}/401/${at(m, 1)}${dlEncode(at(m, 2))}` : undefined),
  ],
  [
    /^urn:epc:id:gsin:(\d+)\.(\d+)$/,
    (m) => (split(at(m, 1), at(m, 2), 16) ? `${DL}/402/${withCheckDigit(`${at(m, 1)}${at(m, 2)}`)}` : undefined),
  ],
  [
    new RegExp(`^urn:epc:id:itip:(\\d+)\\.(\\d+)\\.(\\d{2})\\.(\\d{2})\\.${component(1, 20)}$`),
    (m) =>
      split(at(m, 1), at(m, 2), 13)
        ? `${DL}/8006/${gtin(at(m, 1), at(m, 2))}${at(m, 3)}${at(m, 4)}/21/${dlEncode(at(m, 5))}`
        : undefined,
  ],
  [
    new RegExp(`^urn:epc:id:upui:(\\d+)\\.(\\d+)\\.${component(1, 28)}$`),
    (m) =>
      split(at(m, 1), at(m, 2), 13) ? `${DL}/01/${gtin(at(m, 1), at(m, 2))}/235/${dlEncode(at(m, 3))}` : undefined,
  ],
  [
    /^urn:epc:id:pgln:(\d+)\.(\d*)$/,
    (m) => (split(at(m, 1), at(m, 2), 12) ? `${DL}/417/${withCheckDigit(`${at(m, 1)}${at(m, 2)}`)}` : undefined),
  ],
  [
    new RegExp(`^urn:epc:class:lgtin:(\\d+)\\.(\\d+)\\.${component(1, 20)}$`),
    (m) =>
      split(at(m, 1), at(m, 2), 13) ? `${DL}/01/${gtin(at(m, 1), at(m, 2))}/10/${dlEncode(at(m, 3))}` : undefined,
  ],
  [
    /^urn:epc:idpat:sgtin:(\d+)\.(\d+)\.\*$/,
    (m) => (split(at(m, 1), at(m, 2), 13) ? `${DL}/01/${gtin(at(m, 1), at(m, 2))}` : undefined),
  ],
  [
    /^urn:epc:idpat:grai:(\d+)\.(\d*)\.\*$/,
    (m) => (split(at(m, 1), at(m, 2), 12) ? `${DL}/8003/${withCheckDigit(`0${at(m, 1)}${at(m, 2)}`)}` : undefined),
  ],
  [
    /^urn:epc:idpat:gdti:(\d+)\.(\d*)\.\*$/,
    (m) => (split(at(m, 1), at(m, 2), 12) ? `${DL}/253/${withCheckDigit(`${at(m, 1)}${at(m, 2)}`)}` : undefined),
  ],
  [
    /^urn:epc:idpat:sgcn:(\d+)\.(\d*)\.\*$/,
    (m) => (split(at(m, 1), at(m, 2), 12) ? `${DL}/255/${withCheckDigit(`${at(m, 1)}${at(m, 2)}`)}` : undefined),
  ],
  [
    new RegExp(`^urn:epc:idpat:cpi:(\\d{6,12})\\.(${CPI_COMPONENT}{1,24})\\.\\*$`),
    (m) => `${DL}/8010/${dlEncode(`${at(m, 1)}${at(m, 2)}`)}`,
  ],
  [
    /^urn:epc:idpat:itip:(\d+)\.(\d+)\.(\d{2})\.(\d{2})\.\*$/,
    (m) => (split(at(m, 1), at(m, 2), 13) ? `${DL}/8006/${gtin(at(m, 1), at(m, 2))}${at(m, 3)}${at(m, 4)}` : undefined),
  ],
  [
    /^urn:epc:idpat:upui:(\d+)\.(\d+)\.\*$/,
    (m) => (split(at(m, 1), at(m, 2), 13) ? `${DL}/01/${gtin(at(m, 1), at(m, 2))}` : undefined),
  ],
];

// SPEC: GS1 Digital Link 1.2 §4.4: primary keys, with the 1.0-era short names still found in data.
const PRIMARY_KEY =
  '01|gtin|8006|itip|8010|cpid|414|gln|417|party|8017|gsrnp|8018|gsrn|255|gcn|00|sscc|253|gdti|401|ginc|402|gsin|8003|grai|8004|giai';
const LOOKS_LIKE_DIGITAL_LINK = new RegExp(`^https?:(//[^/?#]*)?[^?#]*/(${PRIMARY_KEY})/\\d{4}[^/]+`);
const SHORT_NAMES: readonly (readonly [string, string])[] = [
  ['gtin', '01'],
  ['itip', '8006'],
  ['cpid', '8010'],
  ['gln', '414'],
  ['party', '417'],
  ['gsrnp', '8017'],
  ['gsrn', '8018'],
  ['gcn', '255'],
  ['sscc', '00'],
  ['gdti', '253'],
  ['ginc', '401'],
  ['gsin', '402'],
  ['grai', '8003'],
  ['giai', '8004'],
  ['cpv', '22'],
  ['lot', '10'],
  ['ser', '21'],
];
const ALREADY_CANONICAL =
  /^https:\/\/id\.gs1\.org\/(01|8006|8010|414|417|8017|8018|255|00|253|401|402|8003|8004)\/\d{4}[^/]+/;
// The order in which the reference implementation looks for the primary key in a non-canonical URI.
const KEY_SEARCH_ORDER = [
  '00',
  '01',
  '253',
  '255',
  '401',
  '402',
  '414',
  '417',
  '8003',
  '8004',
  '8006',
  '8010',
  '8017',
  '8018',
];
// Set 82 minus the characters a Digital Link path segment %-encodes (GS1 Digital Link 1.2 Table 7-1).
const V = `["'\\-.0-9;-?A-Z_a-z]`;
const KEY_14_OR_18 = '(?:8006/\\d{18}|01/\\d{14})';
const CPV_LAST = new RegExp(`^https://id\\.gs1\\.org/${KEY_14_OR_18}/22/${V}{0,20}$`);
const CPV_THEN_MORE = new RegExp(`^https://id\\.gs1\\.org/${KEY_14_OR_18}/22/["'\\-./0-9;-?A-Z_a-z]{0,20}$`);
const LOT_AND_SERIAL = new RegExp(`^https://id\\.gs1\\.org/${KEY_14_OR_18}/10/${V}{0,20}/21/${V}{0,20}$`);
const CONSTRAINED_CANONICAL: readonly RegExp[] = [
  /^00\/\d{18}$/,
  new RegExp(`^01/\\d{14}/21/${V}{0,20}$`),
  new RegExp(`^01/\\d{14}/10/${V}{0,20}$`),
  /^01\/\d{14}$/,
  new RegExp(`^01/\\d{14}/235/${V}{0,28}$`),
  new RegExp(`^253/\\d{13}${V}{0,17}$`),
  /^255\/\d{13}\d{0,12}$/,
  new RegExp(`^401/${V}{0,30}$`),
  /^402\/\d{17}$/,
  /^414\/\d{13}$/,
  new RegExp(`^414/\\d{13}/254/${V}{0,20}$`),
  /^417\/\d{13}$/,
  new RegExp(`^8003/\\d{14}${V}{0,16}$`),
  new RegExp(`^8004/${V}{0,30}$`),
  new RegExp(`^8006/\\d{18}/21/${V}{0,20}$`),
  new RegExp(`^8006/\\d{18}/10/${V}{0,20}$`),
  /^8006\/\d{18}$/,
  /^8010\/[#\-/0-9A-Z]{0,30}\/8011\/\d{0,12}$/,
  /^8010\/[#\-/0-9A-Z]{0,30}$/,
  /^8017\/\d{18}$/,
  /^8018\/\d{18}$/,
];

/**
 * The constrained canonical Digital Link URI of an EPC URI or a Digital Link URI; undefined for any other value
 * (which the hash then uses as it is).
 */
export function canonicalDigitalLinkForHash(value: string): string | undefined {
  if (value.startsWith('urn:epc:')) {
    for (const [pattern, convert] of EPC_RULES) {
      const m = pattern.exec(value);
      if (m) return convert(m);
    }
    return undefined;
  }
  return constrainDigitalLink(value);
}

function constrainDigitalLink(value: string): string | undefined {
  if (!LOOKS_LIKE_DIGITAL_LINK.test(value)) return undefined;
  let uri = value.includes('?') ? value.slice(0, value.indexOf('?')) : value;
  for (const [name, ai] of SHORT_NAMES) uri = uri.split(`/${name}/`).join(`/${ai}/`);
  if (!ALREADY_CANONICAL.test(uri)) {
    const key = KEY_SEARCH_ORDER.find((ai) => uri.includes(`/${ai}/`));
    if (key === undefined) return undefined;
    uri = `${DL}${uri.slice(uri.indexOf(`/${key}/`))}`;
  }
  // SPEC: GS1 Digital Link 1.2 §4.11: a GTIN-8/12/13 is written as 14 digits.
  const gtinDigits = /^https:\/\/id\.gs1\.org\/01\/(\d+)/.exec(uri)?.[1]?.length ?? 14;
  if (gtinDigits < 14) {
    const pad = gtinDigits === 13 ? '0' : gtinDigits === 12 ? '00' : gtinDigits >= 8 ? '000000' : '';
    uri = uri.split('/01/').join(`/01/${pad}`);
  }
  if (CPV_LAST.test(uri)) {
    uri = uri.slice(0, uri.indexOf('/22/'));
  } else if (CPV_THEN_MORE.test(uri)) {
    const after = uri.slice(uri.indexOf('/22/') + 4);
    uri = `${uri.slice(0, uri.indexOf('/22/'))}${after.slice(after.indexOf('/'))}`;
  }
  if (LOT_AND_SERIAL.test(uri)) {
    const after = uri.slice(uri.indexOf('/10/') + 4);
    uri = `${uri.slice(0, uri.indexOf('/10/'))}${after.slice(after.indexOf('/'))}`;
  }
  if (!uri.startsWith(`${DL}/`)) return undefined;
  const path = uri.slice(DL.length + 1);
  return CONSTRAINED_CANONICAL.some((pattern) => pattern.test(path)) ? uri : undefined;
}

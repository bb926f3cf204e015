/**
 * The EPCIS event hash ID: a name for an event computed from its content alone, the same whichever syntax, key
 * order, time zone, identifier form (EPC URI or Digital Link) or vocabulary form (CBV URN, bare word, Web URI)
 * carried it.
 *
 * SPEC: GS1 Core Business Vocabulary (CBV) 2.0 §8.9 "EPCIS event hash ID": a canonical pre-hash string built from
 * the event's fields in the canonical property order, hashed, written as an RFC 6920 `ni` URI:
 * `ni:///sha-256;<hex>?ver=CBV2.0`.
 *
 * Where the published known answers and the prose differ, this follows the known answers, because an event hash
 * is only useful if every implementation computes the same one. The known answers are those of GS1's reference
 * implementation (RalphTro/epcis-event-hash-generator, tests/examples/*.hashes), kept under
 * apps/supply/test/fixtures/epcis-event-hash/. The differences from the prose:
 * - bizTransactionList, sourceList, destinationList and ilmd are not placed at canonical positions 20–22 and 24:
 *   with the user extensions they form the event's "remaining fields", appended after sensorElementList and
 *   sorted as strings (so: bizTransactionList, destinationList, ilmd, sourceList, then `{namespace}` fields).
 * - in a bizTransaction, source or destination the type comes before the identifier (`type=…bizTransaction=…`).
 * - numbers and numeric-looking strings are written in Python's `str(float)` form (see `canonicalNumber`).
 * This module takes JSON / JSON-LD events; XML events are converted by the caller.
 */
import { createHash } from 'node:crypto';
import { canonicalDigitalLinkForHash } from './hash-identifiers';

export type EpcisJsonEvent = Readonly<Record<string, unknown>>;

/** The CBV version the pre-hash rules come from; part of the hash ID. */
export const EVENT_HASH_VERSION = 'CBV2.0';

// SPEC: CBV 2.0 §8.9, rule 15: CURIE prefixes every EPCIS 2.0 JSON-LD document may use without declaring them
// (they are defined by the standard EPCIS context, https://ref.gs1.org/standards/epcis/epcis-context.jsonld).
const STANDARD_PREFIXES: Readonly<Record<string, string>> = {
  gs1: 'https://gs1.org/voc/',
  cbv: 'https://ref.gs1.org/cbv/',
  epcis: 'https://ref.gs1.org/epcis/',
};

// SPEC: CBV 2.0 §8.9, rule 14: CBV URNs become CBV Web URIs.
const CBV_URN_TO_WEB: readonly (readonly [string, string])[] = [
  ['urn:epcglobal:cbv:bizstep:', 'https://ref.gs1.org/cbv/BizStep-'],
  ['urn:epcglobal:cbv:disp:', 'https://ref.gs1.org/cbv/Disp-'],
  ['urn:epcglobal:cbv:btt:', 'https://ref.gs1.org/cbv/BTT-'],
  ['urn:epcglobal:cbv:sdt:', 'https://ref.gs1.org/cbv/SDT-'],
  ['urn:epcglobal:cbv:er:', 'https://ref.gs1.org/cbv/ER-'],
];

// SPEC: CBV 2.0 §8.9, rule 16, with the EPCIS 2.0 JSON-LD context (terms typed "@vocab"): the Web URI a bare
// vocabulary word in each field stands for.
const CBV = 'https://ref.gs1.org/cbv/';
const GS1_VOC = 'https://gs1.org/voc/';

/** Fields dropped before hashing: they are not what the event says (eventID may even be this hash). */
const IGNORED_EVENT_FIELDS = new Set(['type', 'eventID', 'recordTime', 'errorDeclaration']);
/** Keys dropped wherever they appear: annotations, not content. */
const IGNORED_KEYS = new Set(['#text', 'rdfs:comment', 'comment']);
/** Lists whose members are (identifier, type) pairs. */
const TYPED_LISTS = new Map([
  ['bizTransactionList', 'bizTransaction'],
  ['sourceList', 'source'],
  ['destinationList', 'destination'],
]);

const TYPED_MEMBER_NAMES = new Set(TYPED_LISTS.values());

/** A field of the event: name, text value, nested fields. `pair` marks a typed-list member (id and type). */
interface Field {
  name: string;
  value: string;
  children: Field[];
  pair?: true;
}

/** A canonical order: each field name with the order of its own fields, if it has any. */
type Order = readonly (readonly [string, Order | undefined])[];

const QUANTITY_ELEMENT: Order = [
  [
    'quantityElement',
    [
      ['epcClass', undefined],
      ['quantity', undefined],
      ['uom', undefined],
    ],
  ],
];
const EPC: Order = [['epc', undefined]];

// SPEC: CBV 2.0 §8.9.2 "Canonical property order" (certificationInfo and parentID as in the reference
// implementation: after eventTimeZoneOffset, before epcList).
const CANONICAL_ORDER: Order = [
  ['eventTime', undefined],
  ['eventTimeZoneOffset', undefined],
  ['certificationInfo', undefined],
  ['parentID', undefined],
  ['epcList', EPC],
  ['inputEPCList', EPC],
  ['childEPCs', EPC],
  ['quantityList', QUANTITY_ELEMENT],
  ['childQuantityList', QUANTITY_ELEMENT],
  ['inputQuantityList', QUANTITY_ELEMENT],
  ['outputEPCList', EPC],
  ['outputQuantityList', QUANTITY_ELEMENT],
  ['action', undefined],
  ['transformationID', undefined],
  ['bizStep', undefined],
  ['disposition', undefined],
  [
    'persistentDisposition',
    [
      ['set', undefined],
      ['unset', undefined],
    ],
  ],
  ['readPoint', [['id', undefined]]],
  ['bizLocation', [['id', undefined]]],
  [
    'sensorElementList',
    [
      [
        'sensorElement',
        [
          [
            'sensorMetadata',
            [
              'time',
              'startTime',
              'endTime',
              'deviceID',
              'deviceMetadata',
              'rawData',
              'dataProcessingMethod',
              'bizRules',
            ].map((name) => [name, undefined] as const),
          ],
          [
            'sensorReport',
            [
              'type',
              'exception',
              'deviceID',
              'deviceMetadata',
              'rawData',
              'dataProcessingMethod',
              'time',
              'microorganism',
              'chemicalSubstance',
              'value',
              'component',
              'stringValue',
              'booleanValue',
              'hexBinaryValue',
              'uriValue',
              'minValue',
              'maxValue',
              'meanValue',
              'sDev',
              'percRank',
              'percValue',
              'uom',
              'coordinateReferenceSystem',
            ].map((name) => [name, undefined] as const),
          ],
        ],
      ],
    ],
  ],
];

export interface EventHashOptions {
  /** The JSON-LD `@context` in force (the document's); an event's own `@context` is added to it. */
  readonly context?: unknown;
  /**
   * Event-level keys, as written in the JSON, to leave out: fields a repository adds to events it stores (its own
   * capture id, the hash itself) that the parties agreed are not part of the event.
   */
  readonly ignoreFields?: readonly string[];
}

/** The hash ID of every event of an EPCIS document (eventList, query results, or a single `event`), in order. */
export function epcisDocumentHashIds(
  document: Readonly<Record<string, unknown>>,
  options: Omit<EventHashOptions, 'context'> = {},
): string[] {
  return documentEvents(document).map((event) =>
    epcisEventHashId(event, { ...options, context: document['@context'] }),
  );
}

/** The pre-hash string of every event of an EPCIS document, in order. */
export function epcisDocumentPreHashes(
  document: Readonly<Record<string, unknown>>,
  options: Omit<EventHashOptions, 'context'> = {},
): string[] {
  return documentEvents(document).map((event) =>
    epcisEventPreHash(event, { ...options, context: document['@context'] }),
  );
}

/** `ni:///sha-256;<hex>?ver=CBV2.0` for one event. */
export function epcisEventHashId(event: EpcisJsonEvent, options: EventHashOptions = {}): string {
  // SPEC: CBV 2.0 §8.9, rule 19; RFC 6920 §3 (ni URI), IANA Named Information Hash Algorithm Registry "sha-256".
  const digest = createHash('sha256').update(epcisEventPreHash(event, options), 'utf8').digest('hex');
  return `ni:///sha-256;${digest}?ver=${EVENT_HASH_VERSION}`;
}

/** The canonical pre-hash string of one event (what the hash ID hashes). */
export function epcisEventPreHash(event: EpcisJsonEvent, options: EventHashOptions = {}): string {
  const prefixes = { ...STANDARD_PREFIXES, ...contextPrefixes(options.context), ...contextPrefixes(event['@context']) };
  const type = typeof event['type'] === 'string' ? event['type'] : '';
  const ignored = new Set(options.ignoreFields ?? []);
  const kept = Object.fromEntries(Object.entries(event).filter(([key]) => !ignored.has(key)));
  const fields = normaliseStructure(toFields(expandBareVocabulary(kept), prefixes));
  const ordered = orderedString(fields, CANONICAL_ORDER);
  const remaining = fields.filter((field) => !IGNORED_EVENT_FIELDS.has(field.name));
  return `eventType=${type}${ordered}${genericString(remaining)}`;
}

function documentEvents(document: Readonly<Record<string, unknown>>): EpcisJsonEvent[] {
  const body = asObject(document['epcisBody']);
  const list =
    body?.['eventList'] ?? asObject(asObject(body?.['queryResults'])?.['resultsBody'])?.['eventList'] ?? undefined;
  if (Array.isArray(list)) return list.filter((event): event is EpcisJsonEvent => asObject(event) !== undefined);
  const single = asObject(body?.['event']);
  return single ? [single] : [];
}

function asObject(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Readonly<Record<string, unknown>>)
    : undefined;
}

/** Prefix → namespace IRI from the object entries of a JSON-LD @context. */
function contextPrefixes(context: unknown): Record<string, string> {
  const prefixes: Record<string, string> = {};
  for (const entry of Array.isArray(context) ? context : [context]) {
    const object = asObject(entry);
    if (!object) continue;
    for (const [prefix, iri] of Object.entries(object)) {
      if (typeof iri === 'string' && !prefix.startsWith('@')) prefixes[prefix] = iri;
    }
  }
  return prefixes;
}

// SPEC: CBV 2.0 §8.9, rule 16: bare vocabulary words (JSON-LD "@vocab" terms) become their Web URIs.
function expandBareVocabulary(event: EpcisJsonEvent): EpcisJsonEvent {
  const bare = (value: unknown, base: string): unknown =>
    typeof value === 'string' && /^[A-Za-z0-9_]+$/.test(value) ? `${base}${value}` : value;
  const each = (list: unknown, f: (item: unknown) => unknown): unknown => (Array.isArray(list) ? list.map(f) : list);
  const withType = (item: unknown, base: string): unknown => {
    const object = asObject(item);
    return object && 'type' in object ? { ...object, type: bare(object['type'], base) } : item;
  };
  const out: Record<string, unknown> = { ...event };
  if ('bizStep' in out) out['bizStep'] = bare(out['bizStep'], `${CBV}BizStep-`);
  if ('disposition' in out) out['disposition'] = bare(out['disposition'], `${CBV}Disp-`);
  const persistent = asObject(out['persistentDisposition']);
  if (persistent) {
    const disp = (item: unknown): unknown => bare(item, `${CBV}Disp-`);
    out['persistentDisposition'] = {
      ...persistent,
      ...('set' in persistent && { set: each(persistent['set'], disp) }),
      ...('unset' in persistent && { unset: each(persistent['unset'], disp) }),
    };
  }
  if ('bizTransactionList' in out)
    out['bizTransactionList'] = each(out['bizTransactionList'], (i) => withType(i, `${CBV}BTT-`));
  if ('sourceList' in out) out['sourceList'] = each(out['sourceList'], (i) => withType(i, `${CBV}SDT-`));
  if ('destinationList' in out) out['destinationList'] = each(out['destinationList'], (i) => withType(i, `${CBV}SDT-`));
  if ('sensorElementList' in out) {
    out['sensorElementList'] = each(out['sensorElementList'], (element) => {
      const object = asObject(element);
      if (!object || !('sensorReport' in object)) return element;
      return {
        ...object,
        sensorReport: each(object['sensorReport'], (report) => {
          const r = asObject(report);
          if (!r) return report;
          return {
            ...r,
            ...('type' in r && { type: bare(r['type'], GS1_VOC) }),
            ...('exception' in r && { exception: bare(r['exception'], GS1_VOC) }),
            ...('component' in r && { component: bare(r['component'], `${CBV}Comp-`) }),
          };
        }),
      };
    });
  }
  return out;
}

// SPEC: CBV 2.0 §8.9, rules 15, 20, 21: a CURIE becomes its full IRI; an extension field's name is written
// `{namespace}localName`.
function expandKey(key: string, prefixes: Readonly<Record<string, string>>): string {
  const colon = key.indexOf(':');
  if (colon < 0) return key;
  const namespace = prefixes[key.slice(0, colon)];
  return namespace === undefined ? key : `{${namespace}}${key.slice(colon + 1)}`;
}

function expandValue(value: string, prefixes: Readonly<Record<string, string>>): string {
  const colon = value.indexOf(':');
  if (colon < 0) return value;
  const namespace = prefixes[value.slice(0, colon)];
  return namespace === undefined ? value : `${namespace}${value.slice(colon + 1)}`;
}

function toFields(object: Readonly<Record<string, unknown>>, prefixes: Readonly<Record<string, string>>): Field[] {
  const fields: Field[] = [];
  for (const [key, value] of Object.entries(object)) {
    if (IGNORED_KEYS.has(key) || key.startsWith('@')) continue;
    const name = expandKey(key, prefixes);
    for (const item of Array.isArray(value) ? value : [value]) fields.push(toField(name, item, prefixes));
  }
  return fields;
}

function toField(name: string, value: unknown, prefixes: Readonly<Record<string, string>>): Field {
  if (Array.isArray(value)) return { name, value: '', children: value.map((item) => toField('', item, prefixes)) };
  const object = asObject(value);
  if (object) return { name, value: '', children: toFields(object, prefixes) };
  return { name, value: scalarText(value, prefixes), children: [] };
}

function scalarText(value: unknown, prefixes: Readonly<Record<string, string>>): string {
  if (typeof value === 'string') return expandValue(value, prefixes);
  if (typeof value === 'number') return canonicalNumber(value);
  // The reference implementation writes JSON booleans and null as Python does: True, False, None.
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return 'None';
}

/**
 * One structure for JSON and XML: a `…List` field becomes one list field whose members are named by the list
 * (epcList → epc, quantityList → quantityElement, sensorElementList → sensorElement, inputEPCList → epc, …);
 * childEPCs likewise; typed-list members become (type, identifier) pairs.
 */
function normaliseStructure(fields: Field[]): Field[] {
  const lists = new Map<string, Field>();
  const out: Field[] = [];
  const childEpcs: Field[] = [];
  for (const field of fields) {
    if (!field.pair && field.name.endsWith('List')) {
      let list = lists.get(field.name);
      if (!list) {
        list = { name: field.name, value: '', children: [] };
        lists.set(field.name, list);
      }
      const memberName = TYPED_LISTS.get(field.name);
      if (memberName !== undefined) {
        list.children.push(typedPair(field, memberName));
      } else {
        list.children.push(renameMember({ ...field, name: field.name.slice(0, -'List'.length) }));
      }
    } else if (field.name === 'childEPCs') {
      childEpcs.push({ name: 'epc', value: field.value, children: [] });
    } else {
      out.push(renameMember(field));
    }
  }
  for (const list of lists.values()) {
    out.push(TYPED_LISTS.has(list.name) ? list : { ...list, children: list.children.map(renameMember) });
  }
  if (childEpcs.length > 0) out.push({ name: 'childEPCs', value: '', children: childEpcs });
  return out;
}

function renameMember(field: Field): Field {
  const children = normaliseStructure(field.children);
  switch (field.name) {
    case 'inputEPC':
    case 'outputEPC':
      return { ...field, name: 'epc', children };
    case 'inputQuantity':
    case 'outputQuantity':
    case 'childQuantity':
      return { ...field, name: 'quantityElement', children };
    case 'quantity':
      return { ...field, name: children.length > 0 ? 'quantityElement' : 'quantity', children };
    default:
      return { ...field, children };
  }
}

/** A bizTransaction / source / destination as its type followed by its identifier. */
function typedPair(member: Field, idName: string): Field {
  const type = member.children.filter((c) => c.name === 'type');
  const id = member.children.filter((c) => c.name === idName);
  const rest = member.children.filter((c) => c.name !== 'type' && c.name !== idName);
  return { name: '', value: '', children: [...type, ...id, ...rest], pair: true };
}

/**
 * The fields named in `order`, each group sorted, with each field's own fields in its sub-order. Fields written
 * out are removed from `fields` (a field stays while any of its own fields is unwritten): what stays is written
 * afterwards as the remaining fields.
 */
function orderedString(fields: Field[], order: Order): string {
  const extensions = takeNestedExtensions(fields);
  let out = '';
  for (const [name, subOrder] of order) {
    const parts: string[] = [];
    for (const field of fields.filter((f) => !f.pair && f.name === name)) {
      const text = orderedFieldString(field, subOrder);
      if (text !== '') parts.push(text);
      if (field.children.length === 0) fields.splice(fields.indexOf(field), 1);
    }
    out += parts.sort(compareCodePoints).join('');
  }
  // SPEC: CBV 2.0 §8.9, rule 22: extension fields inside a standard field follow that field's own fields.
  return extensions.length > 0 ? out + genericString(extensions) : out;
}

function orderedFieldString(field: Field, subOrder: Order | undefined): string {
  const nested = subOrder ? orderedString(field.children, subOrder) : '';
  let text = '';
  if (field.value !== '') {
    const trimmed = field.value.trim();
    text = isTimestampField(field.name) ? canonicalTimestamp(trimmed) : canonicalValue(trimmed);
    if (text !== '') text = `=${text}`;
  }
  return text !== '' || nested !== '' ? `${field.name}${text}${nested}` : '';
}

/**
 * Extension fields (`{namespace/}name`) inside a standard field with an extension point (readPoint, sensorElement,
 * sensorMetadata, sensorReport, …), taken out to be appended after that field's own fields. At event level
 * (recognised by eventTime or action) extensions are left for the remaining fields.
 */
function takeNestedExtensions(fields: Field[]): Field[] {
  if (fields.length <= 1) return [];
  if (fields.some((f) => !f.pair && (f.name.includes('eventTime') || f.name.includes('action')))) return [];
  const extensions = fields.filter((f) => !f.pair && f.name.includes('{') && f.name.includes('/}'));
  for (const extension of extensions) fields.splice(fields.indexOf(extension), 1);
  return extensions;
}

/** Fields outside the canonical order: `name=value` then nested fields, siblings sorted as strings. */
function genericString(fields: readonly Field[]): string {
  const parts = fields.map((field) => {
    if (field.pair) return genericString(field.children);
    const trimmed = field.value.trim();
    const text = trimmed === '' ? '' : `=${canonicalValue(trimmed)}`;
    return `${field.name}${text}${genericString(field.children)}`;
  });
  // A typed-list member keeps its type before its identifier.
  const keepOrder = fields.some((f) => !f.pair && TYPED_MEMBER_NAMES.has(f.name));
  if (parts.length > 1 && !keepOrder) parts.sort(compareCodePoints);
  return parts.join('');
}

// SPEC: CBV 2.0 §8.9, rule 10: strings sort by code point.
function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function isTimestampField(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.includes('time') && !lower.includes('offset');
}

/** Vocabulary URNs to Web URIs, numbers to their canonical form, identifiers to constrained canonical DL URIs. */
function canonicalValue(text: string): string {
  let value = text;
  for (const [urn, web] of CBV_URN_TO_WEB) value = value.split(urn).join(web);
  value = canonicalNumeric(value);
  return canonicalDigitalLinkForHash(value) ?? value;
}

// What Python's float() accepts (the reference implementation tries it on every value).
const FLOAT_SYNTAX = /^[+-]?(?:(?:\d(?:_?\d)*)(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;

/**
 * SPEC: CBV 2.0 §8.9, rules 6 and 7: numbers without trailing zeros. A value that reads as a number is written
 * as the reference implementation writes it: integral values as integers ("1.0" → "1", "007" → "7"), others in
 * Python's shortest repr. (So a purely numeric serial such as "0012" hashes as "12": that is what the published
 * hashes do.)
 */
function canonicalNumeric(text: string): string {
  if (!FLOAT_SYNTAX.test(text)) return text;
  return canonicalNumber(Number(text.replace(/_/g, '')));
}

function canonicalNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return BigInt(n).toString();
  // Python's repr switches to exponent notation below 1e-4 (JavaScript only below 1e-6).
  if (Math.abs(n) < 1e-4) {
    const [mantissa, exponent] = n.toExponential().split('e');
    const e = Number(exponent);
    return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  return String(n);
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * SPEC: CBV 2.0 §8.9, rules 8 and 9: UTC, written with "Z", millisecond precision; beyond three decimals the third
 * is rounded up when the fourth is 5–9. A time without offset is read as UTC. A value that is not a timestamp is
 * kept as it is.
 */
function canonicalTimestamp(text: string): string {
  const m = TIMESTAMP.exec(text);
  if (!m) return text;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fraction = (m[7] ?? '').padEnd(4, '0');
  const millis = Number(fraction.slice(0, 3)) + (Number(fraction.charAt(3)) >= 5 ? 1 : 0);
  const zone = (m[8] ?? 'Z').toUpperCase();
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    offsetMinutes =
      (zone.startsWith('-') ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0));
  }
  const epoch = Date.UTC(year, month - 1, day, hour, minute, second) + millis - offsetMinutes * 60_000;
  if (!Number.isFinite(epoch)) return text;
  return new Date(epoch).toISOString();
}

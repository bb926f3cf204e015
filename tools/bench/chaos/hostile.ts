/**
 * The hostile-input scenario's generator: a seeded PRNG (the same seed gives the same inputs, so a failure found
 * once is found again), catalogues of hostile values, and mutators that turn an endpoint of a service's OpenAPI
 * document into hostile HTTP requests, and a consumed topic into hostile Kafka messages. No dependency: the
 * shared node_modules stay as they are.
 */

// ------------------------------------------------------------------------------------------------ the PRNG

/** sfc32, seeded through a string hash (cyrb128): small, fast and good enough to pick among catalogues. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string) {
    let h1 = 1779033703,
      h2 = 3144134277,
      h3 = 1013904242,
      h4 = 2773480762;
    for (let i = 0; i < seed.length; i++) {
      const k = seed.charCodeAt(i);
      h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
      h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
      h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
      h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
    }
    h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
    h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
    h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
    h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
    this.a = (h1 ^ h2 ^ h3 ^ h4) >>> 0;
    this.b = (h2 ^ h1) >>> 0;
    this.c = (h3 ^ h1) >>> 0;
    this.d = (h4 ^ h1) >>> 0;
    for (let i = 0; i < 15; i++) this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    let t = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    t = (t + this.d) | 0;
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  int(from: number, to: number): number {
    return from + Math.floor(this.next() * (to - from));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(0, 16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }
}

// ------------------------------------------------------------------------------------------------ catalogues

/** Strings no field should choke on (JSON escapes keep lone surrogates and NUL as such after JSON.stringify). */
export const UNICODE_EDGES: readonly string[] = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\udbff\udfff',
  '\u202eevil\u202c',
  '\u200f\u200e\u061c',
  '\ufeffBOM',
  '\u200b\u200c\u200d\u2060',
  'e\u0301\u0301\u0301\u0301\u0301',
  '\uffff\ufffe',
  '𝕳𝖊𝖑𝖑𝖔 👩‍👩‍👧‍👦',
  'İıſK',
  '\u0085\u2028\u2029',
  '\r\n\t\u000b\u000c',
  'ﷺ'.repeat(200),
];

export const INJECTIONS: readonly string[] = [
  "' OR '1'='1",
  "'; DROP TABLE es_event; --",
  '1; SELECT pg_sleep(5)',
  '" OR ""="',
  '$1',
  '%',
  '_',
  '\\',
  '/~1a/~0b',
  '#/components/schemas/../..',
  '../../../../etc/passwd',
  '..%2f..%2f..%2fetc%2fpasswd',
  '..\\..\\windows\\win.ini',
  '__proto__',
  'constructor',
  'prototype',
  '${7*7}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '%s%s%s%n',
  'a\r\nSet-Cookie: x=y',
  'null',
  'undefined',
  'NaN',
  '-0',
  '1e309',
  'true',
  '[]',
  '{}',
];

/** Values of a wrong type for any field (what a field of any declared type receives). */
export function wrongValue(rng: Rng, depth = 0): unknown {
  const kinds = [
    () => null,
    () => true,
    () => 0,
    () => -1,
    () => 1.5,
    () => Number.MAX_SAFE_INTEGER + 2,
    () => -1e308,
    () => '',
    () => ' ',
    () => rng.pick(INJECTIONS),
    () => rng.pick(UNICODE_EDGES),
    () => 'x'.repeat(rng.int(1_000, 100_000)),
    () => [],
    () => {
      return depth < 2 ? [wrongValue(rng, depth + 1), wrongValue(rng, depth + 1)] : [1];
    },
    () => ({}),
    () => (depth < 2 ? { [rng.pick(INJECTIONS)]: wrongValue(rng, depth + 1) } : { a: 1 }),
    () => ({ __proto__: { admin: true } }),
    () => '2026-02-30T25:61:61Z',
    () => '0000-00-00',
    () => rng.uuid().toUpperCase(),
    () => 'not-a-uuid',
  ];
  return rng.pick(kinds)();
}

// ------------------------------------------------------------------------------------------------ OpenAPI

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

interface OpenApiOperation {
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: JsonSchema }>;
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  required?: string[];
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  example?: unknown;
}

export interface Endpoint {
  service: string;
  method: string;
  /** As in the document: `/fhir/Patient/{id}`. */
  path: string;
  pathParams: string[];
  queryParams: string[];
  /** Whether the operation declares a request body (or is a POST/PUT/PATCH). */
  hasBody: boolean;
  /** A plausible body built from the declared schema (or `{}`), for the mutators to break. */
  base: unknown;
  contentType: string;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Every operation of the document, with a plausible base body for each. */
export function endpointsOf(service: string, document: OpenApiDocument, contentType: string): Endpoint[] {
  const endpoints: Endpoint[] = [];
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (!METHODS.includes(method)) continue;
      const parameters = operation.parameters ?? [];
      const declared = Object.values(operation.requestBody?.content ?? {})[0]?.schema;
      const hasBody = declared !== undefined || ['post', 'put', 'patch'].includes(method);
      endpoints.push({
        service,
        method: method.toUpperCase(),
        path,
        pathParams: [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string),
        queryParams: parameters.filter((p) => p.in === 'query').map((p) => p.name),
        hasBody,
        base: declared ? example(document, declared, 0) : baseFor(path),
        contentType,
      });
    }
  }
  return endpoints;
}

/** A FHIR resource's minimum where the document declares no schema (records' FHIR routes). */
function baseFor(path: string): unknown {
  const type = /^\/fhir\/([A-Z][A-Za-z]+)/.exec(path)?.[1];
  return type ? { resourceType: type } : {};
}

function example(document: OpenApiDocument, schema: JsonSchema, depth: number): unknown {
  if (depth > 6) return null;
  if (schema.$ref) {
    const target = document.components?.schemas?.[schema.$ref.split('/').pop() ?? ''];
    return target ? example(document, target, depth + 1) : {};
  }
  if (schema.example !== undefined) return schema.example;
  if (schema.enum?.length) return schema.enum[0];
  const union = schema.oneOf ?? schema.anyOf;
  if (union?.[0]) return example(document, union[0], depth + 1);
  if (schema.allOf) {
    return Object.assign({}, ...schema.allOf.map((s) => example(document, s, depth + 1) as object));
  }
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return schema.format === 'uuid'
        ? '00000000-0000-4000-8000-000000000000'
        : schema.format === 'date-time'
          ? '2026-01-01T00:00:00.000Z'
          : schema.format === 'date'
            ? '2026-01-01'
            : 'x';
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return true;
    case 'array':
      return schema.items ? [example(document, schema.items, depth + 1)] : [];
    default: {
      const out: Record<string, unknown> = {};
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        out[name] = example(document, property, depth + 1);
      }
      return out;
    }
  }
}

// ------------------------------------------------------------------------------------------------ HTTP mutators

/**
 * encodeURIComponent, but a lone surrogate (which it refuses) is written as the bytes WTF-8 would give it
 * (`\ud800` as %ED%A0%80): invalid UTF-8 in a URL is one of the inputs.
 */
export function encodeAny(value: string): string {
  let out = '';
  for (const char of value) {
    const unit = char.charCodeAt(0);
    if (char.length === 1 && unit >= 0xd800 && unit <= 0xdfff) {
      out += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else out += encodeURIComponent(char);
  }
  return out;
}

export interface HostileRequest {
  kind: string;
  method: string;
  /** Path and query string, already encoded (or deliberately not). */
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** Over every route's body limit (records' Bundle route takes 16 MB; the rest 1 MB). */
export const HUGE_BYTES = { standard: 1_100_000, bundle: 17 * 1024 * 1024 } as const;

const BAD_PATH_VALUES = (rng: Rng): string[] => [
  'not-a-uuid',
  '0',
  '-1',
  '1e309',
  'a'.repeat(rng.int(300, 5_000)),
  encodeAny(rng.pick(INJECTIONS)),
  encodeAny(rng.pick(UNICODE_EDGES)),
  '%00',
  '%ZZ',
  '%c0%af',
  '%ed%a0%80',
  '..%2f..%2fetc%2fpasswd',
  '__proto__',
  'constructor',
  rng.uuid(),
  rng.uuid().toUpperCase(),
  `${rng.uuid()}%20`,
  'Patient%2F1',
];

/** A JSON value nested `depth` levels deep, written out directly (JSON.stringify would recurse as deep). */
function deeplyNested(depth: number, kind: 'object' | 'array'): string {
  return kind === 'object' ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) : '['.repeat(depth) + ']'.repeat(depth);
}

function malformedJson(rng: Rng, base: unknown): Buffer {
  const text = JSON.stringify(base) ?? '{}';
  const variants = [
    () => text.slice(0, Math.max(1, rng.int(0, text.length))),
    () => `${text}}`,
    () => `${text},{}`,
    () => text.replace(/"/g, "'"),
    () => '{a:1}',
    () => '{"a":NaN}',
    () => '{"a":Infinity}',
    () => '{"a":1,}',
    () => '[1,2,,3]',
    () => '{"a":"\\x41"}',
    () => '{"a":"\\ud800"',
    () => '\ufeff' + text,
    () => '',
    () => 'null',
    () => '0',
    () => '"string"',
    () => 'true',
    () => '[]',
    () => '{"a":01}',
    () => '/* comment */' + text,
    () => '{"a":"\u0000"}',
    () => '{"a":"' + '\\'.repeat(rng.int(1, 50)) + '"}',
  ];
  const raw = rng.pick(variants)();
  // Overlong and invalid UTF-8 sequences: bytes no string of ours could hold.
  if (rng.chance(0.15)) return Buffer.concat([Buffer.from(raw), Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xff])]);
  return Buffer.from(raw);
}

/** Replaces one field (at any depth) of a copy of `base` with `value`, or adds one if there is none. */
function withField(rng: Rng, base: unknown, value: unknown): unknown {
  const copy = structuredClone(base);
  const holders: Array<Record<string, unknown> | unknown[]> = [];
  const walk = (node: unknown, depth: number) => {
    if (depth > 5 || node === null || typeof node !== 'object') return;
    holders.push(node as Record<string, unknown>);
    for (const child of Object.values(node)) walk(child, depth + 1);
  };
  walk(copy, 0);
  const holder = holders.length ? rng.pick(holders) : undefined;
  if (!holder || typeof copy !== 'object' || copy === null) return value;
  const keys = Object.keys(holder);
  const key = keys.length && rng.chance(0.8) ? rng.pick(keys) : rng.pick(['id', 'resourceType', 'extra', 'a']);
  (holder as Record<string, unknown>)[key] = value;
  return copy;
}

/** JSON text with keys JSON.stringify would not write as keys (`__proto__` as an own member). */
function pollutionBody(rng: Rng, base: unknown): string {
  const text = JSON.stringify(base) ?? '{}';
  const inner = rng.pick([
    '"__proto__":{"admin":true,"role":"org-admin","isAdmin":true}',
    '"constructor":{"prototype":{"admin":true}}',
    '"__proto__":null',
    '"__proto__":[1,2,3]',
    '"hasOwnProperty":1',
    '"toString":"x"',
    '"valueOf":{}',
  ]);
  return text.startsWith('{') && text.length > 2 ? `{${inner},${text.slice(1)}` : `{${inner}}`;
}

/** Resource types records serves: a route's `{type}` gets one of them, so inputs reach the resource handlers. */
const FHIR_TYPES = [
  'Patient',
  'Observation',
  'Condition',
  'MedicationRequest',
  'Consent',
  'Encounter',
  'AllergyIntolerance',
];

/** A plausible value of a path parameter by its name (a resource type, a version), else a random UUID. */
function validParam(rng: Rng, name: string): string {
  if (name === 'type') return rng.pick(FHIR_TYPES);
  if (name === 'vid') return String(rng.int(1, 3));
  return rng.uuid();
}

/** The path with plausible parameters, or (hostile) one of them replaced by a bad value. */
function substitutePath(rng: Rng, endpoint: Endpoint, hostile: boolean): string {
  const bad = hostile ? rng.int(0, endpoint.pathParams.length) : -1;
  let i = 0;
  return endpoint.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    i++ === bad ? rng.pick(BAD_PATH_VALUES(rng)) : validParam(rng, name),
  );
}

/** A FHIR body of the type the path names (records' `/fhir/{type}` routes declare no schema). */
function baseForPath(endpoint: Endpoint, path: string): unknown {
  const type = /^\/fhir\/([A-Z][A-Za-z]+)/.exec(path)?.[1];
  if (!type || !endpoint.path.includes('{type}')) return endpoint.base;
  return FHIR_BASES[type] ?? { resourceType: type };
}

const FHIR_BASES: Record<string, unknown> = {
  Patient: { resourceType: 'Patient', birthDate: '1950-03-03', name: [{ family: 'Chaos', given: ['Hostile'] }] },
  Observation: {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: 'Patient/00000000-0000-4000-8000-000000000000' },
    valueQuantity: { value: 70, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  },
};

function hostileQuery(rng: Rng, endpoint: Endpoint): string {
  const names = [...endpoint.queryParams, 'q', '_count', 'limit', 'from', 'page', 'cursor'];
  const parts: string[] = [];
  for (let i = rng.int(1, 5); i > 0; i--) {
    const name = rng.pick(names);
    const value = rng.pick([
      () => encodeAny(String(wrongValue(rng))),
      () => rng.pick(['-1', '0', '1e309', '99999999999999999999', 'NaN', '1.5', '0x10', '']),
      () => '%ZZ',
      () => '%00',
      () => '%ed%a0%80',
      () => 'x'.repeat(rng.int(1_000, 8_000)),
      () => encodeAny(rng.pick(INJECTIONS)),
    ])();
    parts.push(
      rng.pick([
        `${encodeAny(name)}=${value}`,
        // Repeated: Express hands the handler an array where it expects a string.
        `${encodeAny(name)}=${value}&${encodeAny(name)}=${value}`,
        // Bracketed: an object where a string is expected.
        `${encodeAny(name)}[a]=${value}`,
        `${encodeAny(name)}[]=${value}`,
        `${encodeAny(name)}`,
        `__proto__[admin]=true`,
        `constructor[prototype][admin]=true`,
      ]),
    );
  }
  return parts.join('&');
}

const WRONG_CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  'application/json; charset=utf-16',
  'application/json; charset=bogus',
  'application/octet-stream',
  '',
  'application/json, text/html',
  'application/fhir+xml',
];

/** The kinds of hostile request; each request is one kind (its tally key). */
export const HTTP_KINDS = [
  'malformed-json',
  'wrong-type',
  'huge-body',
  'deep-nesting',
  'unicode',
  'injection',
  'prototype-pollution',
  'bad-path-param',
  'bad-query',
  'wrong-content-type',
] as const;

/** One hostile request at `endpoint`. `bodyLimit` is the route's limit in bytes (oversized bodies exceed it). */
export function hostileRequest(rng: Rng, route: Endpoint, bundleRoute: boolean): HostileRequest {
  let endpoint = route;
  const applicable = HTTP_KINDS.filter(
    (kind) =>
      (kind !== 'bad-path-param' || endpoint.pathParams.length > 0) &&
      (endpoint.hasBody ||
        !['malformed-json', 'wrong-type', 'huge-body', 'deep-nesting', 'prototype-pollution'].includes(kind)),
  );
  // Oversized bodies are costly to send: one request in 40 at most, whatever the kind drawn.
  let kind = rng.pick(applicable);
  if (kind === 'huge-body' && !rng.chance(0.25)) kind = rng.pick(applicable.filter((k) => k !== 'huge-body'));
  const json = (value: unknown) => Buffer.from(JSON.stringify(value) ?? 'null');
  let path = substitutePath(rng, endpoint, kind === 'bad-path-param');
  endpoint = { ...endpoint, base: baseForPath(endpoint, path) };
  let query = kind === 'bad-query' ? hostileQuery(rng, endpoint) : '';
  let contentType = endpoint.contentType;
  let body: Buffer | undefined = endpoint.hasBody ? json(endpoint.base) : undefined;
  switch (kind) {
    case 'malformed-json':
      body = malformedJson(rng, endpoint.base);
      break;
    case 'wrong-type':
      body = json(withField(rng, endpoint.base, wrongValue(rng)));
      break;
    case 'huge-body': {
      const size = bundleRoute ? HUGE_BYTES.bundle : HUGE_BYTES.standard;
      body = rng.chance(0.5)
        ? json(withField(rng, endpoint.base, 'x'.repeat(size)))
        : Buffer.from(`[${'1,'.repeat(size / 2)}1]`);
      break;
    }
    case 'deep-nesting': {
      const depth = rng.pick([100, 1_000, 10_000, 100_000]);
      const nested = deeplyNested(depth, rng.chance(0.5) ? 'object' : 'array');
      const text = JSON.stringify(endpoint.base) ?? '{}';
      body = Buffer.from(text.startsWith('{') && text.length > 2 ? `{"nested":${nested},${text.slice(1)}` : nested);
      break;
    }
    case 'unicode':
      if (endpoint.hasBody && rng.chance(0.7)) body = json(withField(rng, endpoint.base, rng.pick(UNICODE_EDGES)));
      else if (endpoint.pathParams.length) path = substitutePath(rng, endpoint, true);
      else
        query = `${rng.pick(endpoint.queryParams.length ? endpoint.queryParams : ['q'])}=${encodeAny(rng.pick(UNICODE_EDGES))}`;
      break;
    case 'injection':
      if (endpoint.hasBody && rng.chance(0.7)) body = json(withField(rng, endpoint.base, rng.pick(INJECTIONS)));
      else if (endpoint.pathParams.length)
        path = endpoint.path.replace(/\{[^}]+\}/g, () => encodeAny(rng.pick(INJECTIONS)));
      else
        query = `${rng.pick(endpoint.queryParams.length ? endpoint.queryParams : ['q'])}=${encodeAny(rng.pick(INJECTIONS))}`;
      break;
    case 'bad-path-param':
    case 'bad-query':
      // Made above, with the path and query string.
      break;
    case 'prototype-pollution':
      body = Buffer.from(pollutionBody(rng, endpoint.base));
      break;
    case 'wrong-content-type':
      contentType = rng.pick(WRONG_CONTENT_TYPES);
      if (!body) body = json({ a: 1 });
      break;
  }
  const headers: Record<string, string> = {};
  if (body !== undefined && contentType) headers['content-type'] = contentType;
  return { kind, method: endpoint.method, url: query ? `${path}?${query}` : path, headers, body };
}

// ------------------------------------------------------------------------------------------------ Kafka mutators

export interface HostileMessage {
  kind: string;
  key: string | null;
  value: Buffer | null;
  headers?: Record<string, string>;
  /** Whether every consumer must dead-letter it (it cannot be decoded, or is refused); else it may be skipped. */
  mustDeadLetter: boolean;
}

/** Kafka's default max.message.bytes is 1 MiB: "huge" stays just under it so the broker takes it. */
const HUGE_MESSAGE_BYTES = 900_000;

export const KAFKA_KINDS = [
  'not-json',
  'empty',
  'null-value',
  'invalid-utf8',
  'wrong-envelope',
  'wrong-types',
  'huge',
  'deep-nesting',
  'forged-fields',
  'prototype-pollution',
] as const;

/**
 * What no consumer can decode: each must be dead-lettered by every consumer of the topic. The other kinds may
 * decode into a genuine message (a schema drops the padding or the extra member; a changed field the proof does
 * not cover), then they are applied as a duplicate or skipped: what they must not do is stop the consumer.
 */
const UNDECODABLE = new Set<string>(['not-json', 'empty', 'null-value', 'invalid-utf8', 'wrong-envelope']);

/**
 * One hostile message. `valid` is a genuine message of the topic (decodable), which `forged-fields` alters while
 * keeping it well-formed (a forged signature, another origin, a changed hash): refused, so dead-lettered too.
 */
export function hostileMessage(rng: Rng, valid: Record<string, unknown>): HostileMessage {
  const kind = rng.pick(KAFKA_KINDS);
  const key = rng.pick([null, '', rng.uuid(), rng.pick(INJECTIONS), rng.pick(UNICODE_EDGES)]);
  const headers = rng.chance(0.2)
    ? { [rng.pick(['dlq-service', 'content-type', '__proto__', 'x'])]: rng.pick(INJECTIONS) }
    : undefined;
  const base = { kind, key, ...(headers && { headers }), mustDeadLetter: UNDECODABLE.has(kind) };
  switch (kind) {
    case 'not-json':
      return {
        ...base,
        value: Buffer.from(
          rng.pick(['hello', '{', '{"type":', "{'a':1}", '<xml/>', 'NaN', '\u0000\u0000', ")]}'\n{}"]),
        ),
      };
    case 'empty':
      return { ...base, value: Buffer.alloc(0) };
    case 'null-value':
      return { ...base, value: null };
    case 'invalid-utf8':
      return {
        ...base,
        value: Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc0, 0xaf, 0xff]), Buffer.from('"}')]),
      };
    case 'wrong-envelope':
      return {
        ...base,
        value: Buffer.from(
          JSON.stringify(
            rng.pick<unknown>([
              {},
              [],
              1,
              'x',
              null,
              { type: rng.pick(INJECTIONS) },
              { specversion: '0.3', type: valid['type'], data: {} },
              { ...valid, type: 'unknown.Type' },
              { data: valid },
            ]),
          ),
        ),
      };
    case 'wrong-types':
      return { ...base, value: Buffer.from(JSON.stringify(withField(rng, valid, wrongValue(rng)))) };
    case 'huge':
      return {
        ...base,
        value: Buffer.from(
          JSON.stringify({ ...valid, padding: 'x'.repeat(rng.int(HUGE_MESSAGE_BYTES / 2, HUGE_MESSAGE_BYTES)) }),
        ),
      };
    case 'deep-nesting': {
      const depth = rng.pick([1_000, 10_000, 100_000]);
      const text = JSON.stringify(valid);
      return { ...base, value: Buffer.from(`{"nested":${deeplyNested(depth, 'array')},${text.slice(1)}`) };
    }
    case 'forged-fields':
      return {
        ...base,
        value: Buffer.from(JSON.stringify(forge(rng, valid))),
      };
    case 'prototype-pollution':
      return { ...base, value: Buffer.from(pollutionBody(rng, valid)) };
  }
}

/** A well-formed copy with one field forged: what the message's proof (signature, hash chain) must not admit. */
function forge(rng: Rng, valid: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(valid);
  const strings: Array<[Record<string, unknown>, string]> = [];
  const walk = (node: unknown, depth: number) => {
    if (depth > 4 || node === null || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (typeof v === 'string' && k !== 'type' && k !== 'specversion')
        strings.push([node as Record<string, unknown>, k]);
      else walk(v, depth + 1);
    }
  };
  walk(copy, 0);
  if (strings.length === 0) return { ...copy, forged: true };
  const [holder, key] = rng.pick(strings);
  const value = holder[key] as string;
  // One character changed, as a forger editing a field would; base64 stays base64.
  const at = rng.int(0, Math.max(1, value.length));
  const replacement = value[at] === 'A' ? 'B' : 'A';
  holder[key] = value.length ? value.slice(0, at) + replacement + value.slice(at + 1) : 'A';
  return copy;
}

import { isWellFormedUnicode, utf8 } from './encoding';
import { LedgerCoreError, LedgerErrorCode } from './errors';

/**
 * JSON Canonicalization Scheme. SPEC: RFC 8785.
 *
 * Implemented here (about 60 lines) rather than taken from npm: the scheme is ECMAScript's own JSON.stringify for
 * primitives plus sorted keys, and owning it lets us reject, with a stable code, every value that has no JSON
 * form instead of silently dropping or rewriting it.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Most arrays and objects that may nest inside one another. An envelope is a CloudEvent whose data is an event payload (FHIR resources nest well under 20
 * levels); 256 is far above that and far below the depth at which V8's stack would overflow, so a hostile input
 * gets a coded error instead of a RangeError.
 */
export const JCS_MAX_DEPTH = 256;

function unsupported(path: string, what: string): LedgerCoreError {
  return new LedgerCoreError(LedgerErrorCode.JCS_UNSUPPORTED_VALUE, `${path}: ${what} has no canonical JSON form`);
}

// SPEC: RFC 8785 §3.2.2.2: strings are serialised as by ECMAScript JSON.stringify (escapes for ", \, and
// U+0000–U+001F, using \b \t \n \f \r where they exist and lower-case \u00XX otherwise). §3.1 requires I-JSON, so
// lone surrogates (which JSON.stringify would escape) are refused.
function serializeString(value: string, path: string): string {
  if (!isWellFormedUnicode(value)) throw unsupported(path, 'a string with a lone surrogate');
  return JSON.stringify(value);
}

// SPEC: RFC 8785 §3.2.2.3: numbers are serialised as by ECMAScript Number.prototype.toString (via JSON.stringify,
// which also turns −0 into 0). NaN and ±Infinity are not JSON.
function serializeNumber(value: number, path: string): string {
  if (!Number.isFinite(value)) throw unsupported(path, String(value));
  return JSON.stringify(value);
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function serialize(value: unknown, path: string, depth: number, ancestors: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return serializeString(value, path);
    case 'number':
      return serializeNumber(value, path);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    case 'undefined':
    case 'bigint':
    case 'symbol':
    case 'function':
      throw unsupported(path, `a ${typeof value}`);
  }
  if (value === null) return 'null';
  if (depth >= JCS_MAX_DEPTH) throw unsupported(path, `nesting deeper than ${JCS_MAX_DEPTH}`);
  if (ancestors.has(value)) throw unsupported(path, 'a cycle');
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      // undefined inside an array has no JSON form (JSON.stringify would write null): refused.
      return `[${value.map((item: unknown, i) => serialize(item, `${path}[${i}]`, depth + 1, ancestors)).join(',')}]`;
    }
    // Dates, Maps, class instances and typed arrays have no single JSON form; the caller converts them first.
    if (!isPlainObject(value)) throw unsupported(path, `an instance of ${value.constructor?.name ?? 'unknown'}`);
    // SPEC: RFC 8785 §3.2.3: members sorted by their names as arrays of UTF-16 code units, which is exactly what
    // the default Array.prototype.sort comparison does (no locale).
    const members: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const member = value[key];
      // Like JSON.stringify: an undefined member is absent (optional fields of TypeScript objects).
      if (member === undefined) continue;
      members.push(`${serializeString(key, path)}:${serialize(member, `${path}.${key}`, depth + 1, ancestors)}`);
    }
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(value);
  }
}

/** Thrown by the fast path at the first value it cannot serialise; the slow path then names it. */
const NOT_CANONICAL = new Error('not canonicalisable');

/**
 * What JSON.stringify writes other than as itself (RFC 8785 §3.2.2.2 is its string form): quote, backslash and the
 * controls; and surrogates, which must be checked for lone ones. A string with none of them is itself in quotes.
 */
// eslint-disable-next-line no-control-regex -- the controls are exactly what needs escaping
const ESCAPED_OR_SURROGATE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** The canonical form of a string, without a native call when nothing in it needs escaping (most of them). */
function quoted(text: string): string {
  if (!ESCAPED_OR_SURROGATE.test(text)) return `"${text}"`;
  if (!isWellFormedUnicode(text)) throw NOT_CANONICAL;
  return JSON.stringify(text);
}

/**
 * The same form as {@link serialize}, without building a path string per member: the ledger canonicalises every
 * event it admits, and the paths were most of the cost. No cycle check either: at depth JCS_MAX_DEPTH a cycle
 * fails like any nesting that deep, and the slow path then reports it as a cycle.
 */
function serializeFast(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return quoted(value);
    case 'number':
      if (!Number.isFinite(value)) throw NOT_CANONICAL;
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw NOT_CANONICAL;
  }
  if (value === null) return 'null';
  if (depth >= JCS_MAX_DEPTH) throw NOT_CANONICAL;
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + serializeFast(value[i], depth + 1);
    return `${out}]`;
  }
  if (!isPlainObject(value)) throw NOT_CANONICAL;
  let out = '{';
  let first = true;
  for (const key of Object.keys(value).sort()) {
    const member = value[key];
    if (member === undefined) continue;
    out += `${first ? '' : ','}${quoted(key)}:${serializeFast(member, depth + 1)}`;
    first = false;
  }
  return `${out}}`;
}

/**
 * The RFC 8785 canonical form of a JSON value, as a string. Throws `LEDGER.JCS_UNSUPPORTED_VALUE` for NaN,
 * ±Infinity, undefined (except as an object member, which is omitted), bigint, symbols, functions, non-plain
 * objects, cycles, lone surrogates and nesting deeper than JCS_MAX_DEPTH.
 */
export function canonicalize(value: unknown): string {
  try {
    return serializeFast(value, 0);
  } catch (error) {
    if (error !== NOT_CANONICAL) throw error; // a RangeError or the like: not ours to rename
    return serialize(value, '$', 0, new Set()); // throws the coded error that names the value
  }
}

/**
 * The canonical members of a plain object, sorted as RFC 8785 orders them: `[name, '"name":<canonical value>']`.
 * `{` + some of them joined by `,` + `}` is the canonical form of the object with only those members, so a caller
 * that needs the form of an object and of a part of it serialises each member once (the ledger: an event, and
 * the part its producer signed). Throws like {@link canonicalize}.
 */
export function canonicalMembers(value: Readonly<Record<string, unknown>>): Array<[string, string]> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !isPlainObject(value))
    throw unsupported('$', 'not a plain object');
  const members: Array<[string, string]> = [];
  try {
    for (const key of Object.keys(value).sort()) {
      const member = value[key];
      if (member === undefined) continue;
      members.push([key, `${serializeFast(key, 0)}:${serializeFast(member, 1)}`]);
    }
  } catch (error) {
    if (error !== NOT_CANONICAL) throw error;
    serialize(value, '$', 0, new Set()); // throws the coded error that names the member
    throw error;
  }
  return members;
}

/**
 * Whether `text` is already the RFC 8785 form of `parsed`, which must be `JSON.parse(text)`: true only when
 * `canonicalize(parsed) === text`, at a fraction of its cost for text a producer wrote canonically (one walk over
 * the keys and one native JSON.stringify). For a value parsed from JSON, JSON.stringify writes what RFC 8785
 * writes (§3.2.2: the same string escapes and number form) in the order of `Object.keys`, so the two agree when
 * every object's keys are in RFC 8785 order (§3.2.3) and no string holds a lone surrogate, which JSON.stringify
 * escapes as `\udXXX` and RFC 8785 refuses. JSON.parse's dropping of duplicate names and rounding of numbers show
 * as a difference. False, though the text may be canonical, for the cases left to canonicalize: text holding `\ud`,
 * and objects with array-index names (V8 lists those first, in numeric order).
 */
export function isCanonicalJson(text: string, parsed: unknown): boolean {
  return isCanonicalAs(text, parsed, false);
}

/**
 * {@link isCanonicalJson} for `text` that is valid UTF-8 bytes decoded as Latin-1 (one character per byte), and
 * `parsed = JSON.parse(text)`: true only when the text those bytes encode is canonical. Decoding as Latin-1 is ~10
 * times cheaper than as UTF-8 for text with one non-ASCII character (every C2SP signature line begins with an em
 * dash). Both sides of the comparison then hold the UTF-8 bytes of every unescaped non-ASCII character, which
 * JSON.stringify leaves as they are, so the comparison says the same; `\u` escapes of non-ASCII characters
 * decode to other characters than their bytes and show as a difference. Names compare by UTF-8 bytes, which is code
 * point order; RFC 8785's UTF-16 order differs from it only where a character above U+FFFF meets one from U+E000
 * to U+FFFF, whose UTF-8 lead bytes are 0xF0–0xF4 and 0xEE–0xEF: names that first differ at such a byte are left
 * to the UTF-8 path.
 */
export function isCanonicalJsonLatin1(text: string, parsed: unknown): boolean {
  return isCanonicalAs(text, parsed, true);
}

function isCanonicalAs(text: string, parsed: unknown, latin1: boolean): boolean {
  return !text.includes('\\ud') && keysInOrder(parsed, 0, latin1) && JSON.stringify(parsed) === text;
}

/** Every object's own keys strictly ascending by UTF-16 code units, nesting no deeper than canonicalize allows. */
function keysInOrder(value: unknown, depth: number, latin1: boolean): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (depth >= JCS_MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!keysInOrder(item, depth + 1, latin1)) return false;
    return true;
  }
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (i > 0 && !ascending(keys[i - 1] as string, key, latin1)) return false;
    if (!keysInOrder((value as Record<string, unknown>)[key], depth + 1, latin1)) return false;
  }
  return true;
}

/** UTF-8 lead bytes of the characters whose code point order is not their UTF-16 order (see isCanonicalJsonLatin1). */
const FIRST_LEAD_APART = 0xee;

/** `a < b` by UTF-16 code units; for Latin-1-decoded UTF-8, false also where that order may not be RFC 8785's. */
function ascending(a: string, b: string, latin1: boolean): boolean {
  if (!latin1) return a < b;
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === b.length) return false; // b is a or a prefix of it
  if (i === a.length) return true; // a is a prefix of b
  const [x, y] = [a.charCodeAt(i), b.charCodeAt(i)];
  return x < y && x < FIRST_LEAD_APART && y < FIRST_LEAD_APART;
}

/**
 * Whether `value`'s arrays and objects nest at most `levels` deep (a top-level object is one level). `canonicalize`
 * refuses a value nested more than JCS_MAX_DEPTH levels, so a caller that will wrap a value in others (the ledger:
 * an event in its leaf) asks this first with what is left of that budget. For plain data (JSON.parse output);
 * stops at the first level too deep.
 */
export function nestsWithin(value: unknown, levels: number): boolean {
  return typeof value !== 'object' || value === null || containersWithin(value, levels);
}

/**
 * nestsWithin for a container. The ledger asks it of every event: scalars are skipped without a call, and
 * members are read by for-in (JSON.parse output has no inherited enumerable member), ~0.3 µs for an event of
 * a dozen containers against ~1.3 µs with Object.hasOwn per member (measured with tsx, 10^6 calls).
 */
function containersWithin(value: object, levels: number): boolean {
  if (levels <= 0) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null && !containersWithin(item, levels - 1)) return false;
    }
    return true;
  }
  for (const key in value) {
    const member: unknown = (value as Record<string, unknown>)[key];
    if (typeof member === 'object' && member !== null && !containersWithin(member, levels - 1)) return false;
  }
  return true;
}

/** SPEC: RFC 8785 §3.2.4: the canonical form encoded as UTF-8. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8(canonicalize(value));
}

/** Byte helpers shared by the modules. Base64 is the standard alphabet with padding (RFC 4648 §4) everywhere. */

/**
 * node:crypto returns Buffers; the API promises plain Uint8Arrays (a Buffer JSON-serialises as
 * `{ type: 'Buffer', data }` and compares unequal to a Uint8Array in deep equality). A view costs no copy.
 */
export function plainBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Strict decoding (SPEC: RFC 4648 §4, standard alphabet, padded): only the canonical encoding of some byte string is
 * accepted, so every value has exactly one accepted spelling. Non-zero padding bits (`…Bb1=` vs `…Bb0=`) are
 * refused; otherwise two different strings would verify as the same signature or hash. Node's decoder skips
 * whitespace and other characters and takes URL-safe ones and missing padding, so the decoded bytes are encoded
 * again and must give `text` back: that round trip alone refuses every other spelling, since Node's encoder writes
 * only the standard alphabet, padded. (A shape regular expression before it was redundant, and it was the largest
 * single cost of checking a leaf: 13.5 % of the offline verifier's time.)
 */
export function fromBase64(text: string, expectedLength?: number): Uint8Array | undefined {
  if (typeof text !== 'string') return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) return undefined;
  if (expectedLength !== undefined && bytes.length !== expectedLength) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Lower- or upper-case hex of even length; anything else is undefined. */
export function fromHex(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'hex');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const utf8Encoder = new TextEncoder();
export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

// `fatal` so that invalid UTF-8 is an error rather than U+FFFD: a signed note must be byte-exact.
const strictUtf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

// A lone UTF-16 surrogate cannot be encoded as UTF-8, so TextEncoder would replace it with U+FFFD: what gets
// signed or hashed would silently differ from the string the caller holds.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// String.prototype.isWellFormed (ES2024, Node 20) where present: it does not scan with a regular expression.
const nativeIsWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;

export function isWellFormedUnicode(text: string): boolean {
  return nativeIsWellFormed ? nativeIsWellFormed.call(text) : !LONE_SURROGATE.test(text);
}

/**
 * Whether text holds an ASCII control character (below U+0020), newline excepted when `allowNewline`. A loop
 * rather than a regular expression with control characters in it, which is hard to read and lint.
 */
export function hasControlCharacter(text: string, allowNewline: boolean): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 && !(allowNewline && code === 0x0a)) return true;
  }
  return false;
}

/** RFC 3339 UTC timestamp with exactly millisecond precision, as `Date.prototype.toISOString` prints it. */
const RFC3339_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export function isUtcMillisTimestamp(value: unknown): value is string {
  if (typeof value !== 'string' || !RFC3339_UTC_MS.test(value)) return false;
  const date = new Date(value);
  // The round trip rejects impossible dates such as 2026-02-30 that the pattern lets through.
  return !Number.isNaN(date.getTime()) && date.toISOString() === value;
}

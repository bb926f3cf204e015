import type { z } from 'zod';

/** Stable reasons for a message that fails at the edge; they become the dead-letter reason code. */
export const DecodeFailure = {
  NOT_JSON: 'CONTRACTS.NOT_JSON',
  SCHEMA_MISMATCH: 'CONTRACTS.SCHEMA_MISMATCH',
  EMPTY: 'CONTRACTS.EMPTY_MESSAGE',
} as const;
export type DecodeFailureCode = (typeof DecodeFailure)[keyof typeof DecodeFailure];

/**
 * `value` is the contract's parsed copy; `json` the JSON as received (unknown members included), parsed from
 * `text`, the message decoded as UTF-8.
 */
export type Decoded<T> =
  | { ok: true; value: T; json: unknown; text: string }
  | { ok: false; code: DecodeFailureCode; message: string };

/**
 * Parses message bytes as JSON and validates them against a contract; never throws. `accepts`, a quick check that
 * says yes only to what `schema` accepts (such as isEventEnvelope), spares zod's parse for those: their `value` is
 * then the JSON itself.
 */
export function decodeMessage<S extends z.ZodType>(
  schema: S,
  bytes: Uint8Array | null | undefined,
  accepts?: (json: unknown) => boolean,
): Decoded<z.infer<S>> {
  // Not bytes at all: Nest's Kafka transport hands the whole message object as the payload of a message whose value
  // is null (a tombstone), which Buffer.from below threw on, so the consumer retried it forever (npm run chaos).
  if (!(bytes instanceof Uint8Array) || bytes.length === 0)
    return { ok: false, code: DecodeFailure.EMPTY, message: 'message has no value' };
  // A view of the bytes, not a copy (Buffer.from(Uint8Array) would copy them).
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, code: DecodeFailure.NOT_JSON, message: (error as Error).message };
  }
  if (accepts?.(json)) return { ok: true, value: json as z.infer<S>, json, text };
  const result = schema.safeParse(json);
  if (!result.success) {
    const message = result.error.issues
      .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    return { ok: false, code: DecodeFailure.SCHEMA_MISMATCH, message };
  }
  return { ok: true, value: result.data, json, text };
}

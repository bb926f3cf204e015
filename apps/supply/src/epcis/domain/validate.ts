/**
 * Validation of EPCIS 2.0 JSON / JSON-LD against GS1's own JSON Schema (../schema/epcis-json-schema.json, copied
 * unmodified from gs1/EPCIS; see the README beside it), before any domain code sees the events.
 * SPEC: EPCIS 2.0 §12.2 (JSON / JSON-LD binding) and its normative JSON Schema (draft-07).
 * One error per failing event, naming the event's index in eventList and a JSON pointer (RFC 6901) into the
 * document as submitted, so a capture client can find what to fix.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import schema from '../schema/epcis-json-schema.json';

export const EpcisValidationErrorCode = {
  SCHEMA_VIOLATION: 'SUPPLY.SCHEMA_VIOLATION',
  MALFORMED_DOCUMENT: 'SUPPLY.MALFORMED_DOCUMENT',
} as const;
export type EpcisValidationErrorCode = (typeof EpcisValidationErrorCode)[keyof typeof EpcisValidationErrorCode];

export interface EpcisValidationError {
  /** Index in epcisBody.eventList; absent for document-level errors and for a single event. */
  readonly eventIndex?: number;
  /** RFC 6901 pointer into the submitted document ("" is the whole document). */
  readonly pointer: string;
  readonly code: EpcisValidationErrorCode;
  readonly message: string;
}

/** An EPCIS event as JSON: its `type` is ObjectEvent, AggregationEvent, … or an extension event type. */
export type EpcisEvent = Readonly<Record<string, unknown>> & { readonly type: string };

export type EpcisValidationResult =
  | { readonly ok: true; readonly events: readonly EpcisEvent[] }
  | { readonly ok: false; readonly errors: readonly EpcisValidationError[] };

const EVENT_POINTER = /^\/epcisBody\/eventList\/(\d+)(?=\/|$)/;
/** Keywords that only say "a branch failed": the errors of the branch itself say what. */
const COMBINATORS = new Set(['if', 'then', 'else', 'anyOf', 'oneOf', 'allOf', 'not', '$ref']);

let compiled: ValidateFunction | undefined;

/** The schema is compiled on first use, once per process (≈ 100 ms; every later call reuses it). */
function validator(): ValidateFunction {
  if (!compiled) {
    // GS1's schema lists required properties it does not declare (e.g. transformationID in one anyOf branch),
    // which Ajv's strict mode rejects; everything else stays strict.
    const ajv = new Ajv({ allErrors: true, strictRequired: false });
    addFormats(ajv);
    compiled = ajv.compile(schema);
  }
  return compiled;
}

/** Validates a parsed EPCIS document (EPCISDocument with epcisBody.eventList) or a single JSON-LD event. */
export function validateEpcis(document: unknown): EpcisValidationResult {
  const malformed = (pointer: string, message: string): EpcisValidationResult => ({
    ok: false,
    errors: [{ pointer, code: EpcisValidationErrorCode.MALFORMED_DOCUMENT, message }],
  });
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return malformed('', 'an EPCIS document or event is a JSON object');
  }
  const record = document as Readonly<Record<string, unknown>>;
  const type = record['type'];
  if (typeof type !== 'string') return malformed('/type', 'type is required, a string');
  if (type === 'EPCISQueryDocument') return malformed('/type', 'a query document is not accepted for capture');
  const isDocument = type === 'EPCISDocument';
  if (isDocument) {
    const body = record['epcisBody'];
    const list = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['eventList'] : undefined;
    if (!Array.isArray(list)) return malformed('/epcisBody/eventList', 'epcisBody.eventList is required, an array');
  }

  const validate = validator();
  if (validate(document)) {
    const events = isDocument
      ? ((record['epcisBody'] as Record<string, unknown>)['eventList'] as EpcisEvent[])
      : [record as EpcisEvent];
    return { ok: true, events };
  }
  return { ok: false, errors: oneErrorPerEvent(validate.errors ?? [], isDocument) };
}

/** Parses `text` as JSON first; text that is not JSON is a malformed document. */
export function validateEpcisJson(text: string): EpcisValidationResult {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      errors: [
        {
          pointer: '',
          code: EpcisValidationErrorCode.MALFORMED_DOCUMENT,
          message: `not JSON: ${error instanceof Error ? error.message : String(error)}`,
        },
      ],
    };
  }
  return validateEpcis(document);
}

function oneErrorPerEvent(errors: readonly ErrorObject[], isDocument: boolean): EpcisValidationError[] {
  const byEvent = new Map<number | undefined, ErrorObject[]>();
  for (const error of errors) {
    const index = isDocument ? EVENT_POINTER.exec(error.instancePath)?.[1] : undefined;
    const key = index === undefined ? undefined : Number(index);
    byEvent.set(key, [...(byEvent.get(key) ?? []), error]);
  }
  // The root's "the document branch failed" only repeats what the events' own errors say.
  const documentLevel = byEvent.get(undefined);
  if (byEvent.size > 1 && documentLevel?.every((e) => COMBINATORS.has(e.keyword))) byEvent.delete(undefined);
  const result: EpcisValidationError[] = [];
  for (const [eventIndex, group] of [...byEvent.entries()].sort(([a], [b]) => (a ?? -1) - (b ?? -1))) {
    const best = mostSpecific(group);
    result.push({
      ...(eventIndex !== undefined && { eventIndex }),
      pointer: pointerOf(best),
      code: EpcisValidationErrorCode.SCHEMA_VIOLATION,
      message: messageOf(best),
    });
  }
  return result;
}

/** The deepest error that is not a mere "branch failed"; the first such in Ajv's order on a tie. */
function mostSpecific(errors: readonly ErrorObject[]): ErrorObject {
  const depth = (e: ErrorObject): number => pointerOf(e).split('/').length;
  const candidates = errors.filter((e) => !COMBINATORS.has(e.keyword));
  const pool = candidates.length > 0 ? candidates : errors;
  return pool.reduce((best, e) => (depth(e) > depth(best) ? e : best));
}

function pointerOf(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const child =
    error.keyword === 'required' && typeof params['missingProperty'] === 'string'
      ? params['missingProperty']
      : typeof params['propertyName'] === 'string'
        ? params['propertyName']
        : typeof params['additionalProperty'] === 'string'
          ? params['additionalProperty']
          : undefined;
  return child === undefined ? error.instancePath : `${error.instancePath}/${escapePointer(child)}`;
}

// SPEC: RFC 6901 §3: '~' is written '~0' and '/' is written '~1'.
function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function messageOf(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const allowed = Array.isArray(params['allowedValues']) ? ` (${params['allowedValues'].join(', ')})` : '';
  return `${error.keyword}: ${error.message ?? 'is invalid'}${allowed}`;
}

import type { NextFunction, Request, Response } from 'express';
import { json, urlencoded } from 'express';
import { isWellFormedUnicode } from '@medledger/ledger-core';
import { ProblemException } from './problem';

/** Largest JSON request body accepted; FHIR resources and EPCIS documents stay well below it. */
export const HTTP_BODY_LIMIT = '1mb';

interface BodyParserError extends Error {
  type?: string;
}

/** A route that takes larger bodies than HTTP_BODY_LIMIT (records' FHIR Bundles), by method and exact path. */
export interface BodyLimit {
  method: string;
  path: string;
  /** As body-parser reads it: `16mb`. */
  limit: string;
}

function toProblem(error: BodyParserError, limit: string): Error {
  switch (error.type) {
    case 'entity.parse.failed':
      return new ProblemException(400, 'HTTP.MALFORMED_JSON', 'The request body is not valid JSON', {
        detail: error.message,
      });
    case 'entity.too.large':
      return new ProblemException(413, 'HTTP.PAYLOAD_TOO_LARGE', 'The request body is too large', {
        detail: `limit ${limit}`,
      });
    case 'parameters.too.many':
      return new ProblemException(413, 'HTTP.PAYLOAD_TOO_LARGE', 'Too many form parameters', {
        detail: error.message,
      });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ProblemException(415, 'HTTP.UNSUPPORTED_ENCODING', 'Unsupported body encoding', {
        detail: error.message,
      });
    default:
      return error;
  }
}

function pointerToken(key: string | number): string {
  return String(key).replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * The JSON Pointer (RFC 6901) of a member name or string in `value` holding a lone surrogate, if any; iterative, as
 * a body may nest deeper than the call stack goes.
 * SPEC: RFC 7493 (I-JSON) §2.1: such strings MUST NOT be sent; RFC 8259 §8.2 leaves their behaviour unpredictable.
 * Here they cannot be canonicalised (RFC 8785), stored as UTF-8 or signed, so they are refused at the door.
 */
export function loneSurrogateAt(value: unknown): string | undefined {
  const stack: Array<{ value: unknown; pointer: string }> = [{ value, pointer: '' }];
  for (let next = stack.pop(); next; next = stack.pop()) {
    if (typeof next.value === 'string') {
      if (!isWellFormedUnicode(next.value)) return next.pointer;
    } else if (Array.isArray(next.value)) {
      const { pointer } = next;
      next.value.forEach((item, i) => stack.push({ value: item, pointer: `${pointer}/${i}` }));
    } else if (typeof next.value === 'object' && next.value !== null) {
      for (const [key, member] of Object.entries(next.value)) {
        const pointer = `${next.pointer}/${pointerToken(key)}`;
        if (!isWellFormedUnicode(key)) return pointer;
        stack.push({ value: member, pointer });
      }
    }
  }
  return undefined;
}

const MAY_HOLD_SURROGATE = new WeakSet<object>();

// Only an escape (`\ud800`) can put a surrogate in a parsed string: UTF-8 cannot encode one (a decoder reads it as
// U+FFFD). Bodies without `\ud` or `\uD` are not walked.
function markSurrogateEscapes(request: object, _response: unknown, body: Buffer): void {
  if (body.includes('\\ud') || body.includes('\\uD')) MAY_HOLD_SURROGATE.add(request);
}

function loneSurrogateProblem(request: Request): ProblemException | undefined {
  if (!MAY_HOLD_SURROGATE.has(request)) return undefined;
  const at = loneSurrogateAt(request.body);
  if (at === undefined) return undefined;
  return new ProblemException(400, 'HTTP.MALFORMED_JSON', 'The request body is not valid JSON', {
    detail: `a lone UTF-16 surrogate at '${at}' (RFC 7493 §2.1: strings must be valid Unicode)`,
  });
}

// application/json and the +json media types (application/fhir+json for FHIR resources).
const JSON_TYPES = ['application/json', 'application/*+json'];
// HTML-form bodies, which FHIR searches by POST use (SPEC: FHIR R4 §3.1.0.9.1 `POST [base]/[type]/_search`); flat
// name=value pairs only (a repeated name is an array), as URL query strings are read.
const parseForm = urlencoded({ limit: HTTP_BODY_LIMIT, extended: false, parameterLimit: 1_000 });

/**
 * Our own JSON body parser (the app is created with `bodyParser: false`), mounted after the request logger
 * so errors carry the request id, and so its failures keep their meaning: Nest's built-in parser turns them
 * into a bare 400. Malformed JSON and oversized bodies become problem+json with stable codes. `larger`: the
 * routes whose JSON bodies may exceed HTTP_BODY_LIMIT, each up to its own limit.
 */
export function jsonBodyParser(larger: readonly BodyLimit[] = []) {
  const parser = (limit: string) => json({ limit, type: JSON_TYPES, verify: markSurrogateEscapes });
  const standard = { limit: HTTP_BODY_LIMIT, parse: parser(HTTP_BODY_LIMIT) };
  const routes = new Map(
    larger.map((route) => [
      `${route.method.toUpperCase()} ${route.path}`,
      { limit: route.limit, parse: parser(route.limit) },
    ]),
  );
  return function parseBody(request: Request, response: Response, next: NextFunction): void {
    const path = (request.originalUrl || request.url).split('?')[0]?.replace(/(?<=.)\/$/, '') ?? '';
    const { limit, parse } = routes.get(`${request.method} ${path}`) ?? standard;
    parse(request, response, (error?: unknown) => {
      if (error) return next(toProblem(error as BodyParserError, limit));
      const surrogate = loneSurrogateProblem(request);
      if (surrogate) return next(surrogate);
      parseForm(request, response, (formError?: unknown) =>
        next(formError ? toProblem(formError as BodyParserError, HTTP_BODY_LIMIT) : undefined),
      );
    });
  };
}

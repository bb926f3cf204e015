import type { NextFunction, Request, Response } from 'express';
import { json, urlencoded } from 'express';
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
  const standard = { limit: HTTP_BODY_LIMIT, parse: json({ limit: HTTP_BODY_LIMIT, type: JSON_TYPES }) };
  const routes = new Map(
    larger.map((route) => [
      `${route.method.toUpperCase()} ${route.path}`,
      { limit: route.limit, parse: json({ limit: route.limit, type: JSON_TYPES }) },
    ]),
  );
  return function parseBody(request: Request, response: Response, next: NextFunction): void {
    const path = (request.originalUrl || request.url).split('?')[0]?.replace(/(?<=.)\/$/, '') ?? '';
    const { limit, parse } = routes.get(`${request.method} ${path}`) ?? standard;
    parse(request, response, (error?: unknown) => {
      if (error) return next(toProblem(error as BodyParserError, limit));
      parseForm(request, response, (formError?: unknown) =>
        next(formError ? toProblem(formError as BodyParserError, HTTP_BODY_LIMIT) : undefined),
      );
    });
  };
}

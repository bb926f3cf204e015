import type { NextFunction, Request, Response } from 'express';
import { ProblemException } from './problem';

/**
 * PostgreSQL text holds no NUL (it refuses one with 22021), and no identifier, search value or path segment of ours
 * has one: a URL carrying one (`%00`; a raw NUL never gets past Node's parser) is refused before any route, rather
 * than reaching a query and answering 500 (found by `npm run chaos -- --only hostile-input`: supply's lot trace).
 */
export function refuseNulInUrl(request: Request, _response: Response, next: NextFunction): void {
  if (!(request.originalUrl || request.url).includes('%00')) return next();
  next(
    new ProblemException(400, 'HTTP.NUL_IN_URL', 'The URL holds a NUL character', {
      detail: 'a path segment or query parameter holds %00; no identifier or search value has one',
    }),
  );
}

import { HttpException, HttpStatus } from '@nestjs/common';

/** RFC 9457 problem details, with our stable machine-readable `code`. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  instance?: string;
  requestId?: string;
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const PROBLEM_TYPE_BASE = 'https://medledger.local/problems/';

/**
 * Throw from any controller or service for an expected failure with a stable code, e.g.
 * `throw new ProblemException(404, 'DIAGNOSTICS.PING_NOT_FOUND', 'No such ping', { detail: ... })`.
 */
export class ProblemException extends HttpException {
  constructor(
    status: number,
    readonly code: string,
    readonly title: string,
    readonly extras: { detail?: string; [extension: string]: unknown } = {},
  ) {
    super({ code, title, ...extras }, status);
  }
}

/** Stable codes for the framework's own HTTP errors (`HTTP.NOT_FOUND`, `HTTP.BAD_REQUEST`, ...). */
export function httpCode(status: number): string {
  const name = HttpStatus[status];
  return `HTTP.${typeof name === 'string' ? name : 'ERROR'}`;
}

export function problemType(code: string): string {
  return PROBLEM_TYPE_BASE + code.toLowerCase().replace(/[._]/g, '-');
}

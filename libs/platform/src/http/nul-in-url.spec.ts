import type { NextFunction, Request, Response } from 'express';
import { refuseNulInUrl } from './nul-in-url';
import { ProblemException } from './problem';

describe('refuseNulInUrl', () => {
  const outcome = (url: string): unknown => {
    let passed: unknown = 'not called';
    refuseNulInUrl(
      { originalUrl: url, url } as Request,
      {} as Response,
      ((error?: unknown) => {
        passed = error;
      }) as NextFunction,
    );
    return passed;
  };

  it.each(['/v1/lots/00614141123452/L%00/trace', '/fhir/Patient?name=a%00b', '/v1/events/%00'])(
    'refuses %s with 400 HTTP.NUL_IN_URL',
    (url) => {
      const error = outcome(url);
      expect(error).toBeInstanceOf(ProblemException);
      expect([(error as ProblemException).getStatus(), (error as ProblemException).code]).toEqual([
        400,
        'HTTP.NUL_IN_URL',
      ]);
    },
  );

  it.each(['/v1/lots/00614141123452/L100/trace', '/fhir/Patient?name=%2500', '/fhir/Observation?value=%C3%A9'])(
    'passes %s on',
    (url) => {
      expect(outcome(url)).toBeUndefined();
    },
  );
});

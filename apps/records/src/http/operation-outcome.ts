import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import type { OperationOutcome } from 'fhir/r4';

export const FHIR_CONTENT_TYPE = 'application/fhir+json';
/** Where a refused resource's OperationOutcome carries medledger's stable error code (issue.details.coding). */
export const ERROR_CODE_SYSTEM = 'https://medledger.local/fhir/CodeSystem/error';

/**
 * A FHIR request refused with an OperationOutcome (FHIR R4 §3.1.0.4: an invalid resource gets 400 with one).
 * Each issue also carries the stable code in `details.coding`, so clients need not parse diagnostics.
 */
export class OperationOutcomeException extends HttpException {
  constructor(
    status: number,
    readonly code: string,
    readonly outcome: OperationOutcome,
  ) {
    super(code, status);
  }
}

export function refuse(status: number, code: string, outcome: OperationOutcome): OperationOutcomeException {
  return new OperationOutcomeException(status, code, {
    ...outcome,
    issue: outcome.issue.map((issue) => ({
      ...issue,
      details: { coding: [{ system: ERROR_CODE_SYSTEM, code }], ...(issue.details ?? {}) },
    })),
  });
}

/** Sends an OperationOutcomeException as FHIR JSON; every other error stays with the problem+json filter. */
@Catch(OperationOutcomeException)
export class OperationOutcomeFilter implements ExceptionFilter {
  catch(exception: OperationOutcomeException, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    response.status(exception.getStatus()).type(FHIR_CONTENT_TYPE).send(JSON.stringify(exception.outcome));
  }
}

import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { PROBLEM_CONTENT_TYPE, ProblemDetails, ProblemException, httpCode, problemType } from './problem';

/**
 * Every HTTP error leaves as RFC 9457 problem+json with a stable `code`. Unknown routes, malformed JSON and
 * unexpected exceptions included; a 500 never echoes internals, it logs them with the request id.
 */
/** Registered with `app.useGlobalFilters`, so it sees HTTP only (Kafka handlers have their own path). */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request & { id?: unknown }>();
    const response = http.getResponse<Response>();
    const problem = this.toProblem(exception, request);
    if (problem.status >= 500) {
      this.logger.error({ err: exception, requestId: problem.requestId }, 'unhandled error');
    }
    if (response.headersSent) return;
    response.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  }

  private toProblem(exception: unknown, request: Request & { id?: unknown }): ProblemDetails {
    const base = {
      instance: request.originalUrl ?? request.url,
      ...((typeof request.id === 'string' || typeof request.id === 'number') && { requestId: String(request.id) }),
    };
    if (exception instanceof ProblemException) {
      return {
        type: problemType(exception.code),
        title: exception.title,
        status: exception.getStatus(),
        code: exception.code,
        ...exception.extras,
        ...base,
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      const detail =
        typeof body === 'string'
          ? body
          : typeof body === 'object' && body !== null && 'message' in body
            ? [body.message].flat().join('; ')
            : exception.message;
      const code = status === 404 && /^Cannot [A-Z]+ /.test(detail) ? 'HTTP.ROUTE_NOT_FOUND' : httpCode(status);
      return {
        type: problemType(code),
        title: exception.name.replace(/Exception$/, '').replace(/([a-z])([A-Z])/g, '$1 $2'),
        status,
        code,
        detail,
        ...base,
      };
    }
    const code = 'HTTP.INTERNAL_SERVER_ERROR';
    return {
      type: problemType(code),
      title: 'Internal Server Error',
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      code,
      ...base,
    };
  }
}

import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { PROBLEM_CONTENT_TYPE, problemType, type ProblemDetails } from './problem';

/** What Node's HTTP parser refuses before any route sees the request, as status and stable code. */
function refusalOf(code: string | undefined): { status: number; code: string; title: string } {
  if (code === 'HPE_HEADER_OVERFLOW')
    return { status: 431, code: 'HTTP.HEADERS_TOO_LARGE', title: 'The request line or headers are too large' };
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return { status: 408, code: 'HTTP.REQUEST_TIMEOUT', title: 'The request did not arrive in time' };
  return { status: 400, code: 'HTTP.MALFORMED_REQUEST', title: 'The request is not valid HTTP/1.1' };
}

/**
 * Node answers a request its parser refuses (a URL or headers over its 16 KB limit, malformed HTTP) itself, with
 * an empty body: the one refusal of a service without a stable code (found by `npm run chaos -- --only
 * hostile-input`). This answers those with problem details like every other refusal, then closes the connection,
 * as Node's own handler does.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const { status, code, title } = refusalOf(error.code);
    const problem: ProblemDetails = { type: problemType(code), title, status, code };
    const body = JSON.stringify(problem);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

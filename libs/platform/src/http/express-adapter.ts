import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express } from 'express';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';

/**
 * A constructor for `base` instances whose prototype is `prototype` from the start (which must inherit from
 * `base.prototype`, as Express's `app.request` and `app.response` do).
 */
function constructing<T>(base: T, prototype: object): T {
  const constructor = function (...args: unknown[]): object {
    return Reflect.construct(base as new (...args: unknown[]) => object, args, constructor) as object;
  };
  constructor.prototype = prototype;
  return constructor as unknown as T;
}

/**
 * Nest's Express adapter, with one change: Node's HTTP server builds each request and response with the prototypes
 * Express would give them. Express 5 gives them per request (`Object.setPrototypeOf(req, app.request)` in
 * `app.handle`), and measured here that made every request's objects outlive a young-generation collection: each
 * scavenge promoted ~2 MB and paused the service for 2.5–7 ms while it answered ~1,000 requests a second. Built
 * with the right prototype, the same call changes nothing (the prototype is already that one), and on the
 * ledger's proofs the promotion per scavenge fell from ~2.0 to ~0.5 MB and the pauses to ~2 ms (docs/perf.md).
 * HTTPS and `forceCloseConnections`, which our services do not use, keep Nest's own server.
 */
export class ServiceExpressAdapter extends ExpressAdapter {
  override initHttpServer(options: NestApplicationOptions): void {
    if (options?.httpsOptions || options?.forceCloseConnections) {
      super.initHttpServer(options);
      return;
    }
    const app = this.getInstance<Express>();
    this.httpServer = createServer(
      {
        IncomingMessage: constructing(IncomingMessage, app.request),
        ServerResponse: constructing(ServerResponse, app.response),
      },
      app,
    );
  }
}

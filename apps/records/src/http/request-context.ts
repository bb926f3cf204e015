import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';

/** What the audit trail records of the request behind an access, besides the token's claims. */
export interface RequestContext {
  /** The client's network address (express's `req.ip`: the socket's peer, or the proxy chain's when trusted). */
  clientAddress?: string;
}

/** The request being served, for code far from the controller (the audit service) without threading it through. */
export const requestContext = new AsyncLocalStorage<RequestContext>();

export function requestContextMiddleware(request: Request, _response: Response, next: NextFunction): void {
  const address = request.ip ?? request.socket.remoteAddress;
  requestContext.run(address ? { clientAddress: address } : {}, next);
}

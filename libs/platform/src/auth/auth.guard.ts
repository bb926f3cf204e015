import { CanActivate, createParamDecorator, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { ProblemException } from '../http/problem';
import type { ActorRole, AuthenticatedActor } from './actor';
import { TokenVerifier } from './tokens';

export const AUTH_VERIFIER = Symbol('AUTH_VERIFIER');
const PUBLIC_KEY = 'medledger:public';
const ROLES_KEY = 'medledger:roles';

/** The route needs no token (health, metrics, diagnostics). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);
/** Only these roles may call the route (403 `AUTH.FORBIDDEN_ROLE` otherwise). */
export const Roles = (...roles: ActorRole[]) => SetMetadata(ROLES_KEY, roles);

type AuthenticatedRequest = Request & { actor?: AuthenticatedActor };

/** The authenticated caller, in a controller: `handler(@Actor() actor: AuthenticatedActor)`. */
export const Actor = createParamDecorator((_data: unknown, context: ExecutionContext): AuthenticatedActor => {
  const actor = context.switchToHttp().getRequest<AuthenticatedRequest>().actor;
  if (!actor) throw new Error('@Actor() on a route without authentication');
  return actor;
});

export const AuthError = {
  MISSING_TOKEN: 'AUTH.MISSING_TOKEN',
  INVALID_TOKEN: 'AUTH.INVALID_TOKEN',
  FORBIDDEN_ROLE: 'AUTH.FORBIDDEN_ROLE',
} as const;

/**
 * Every HTTP route needs `Authorization: Bearer <jwt>` (EdDSA, our issuer and audience, unexpired, with actor
 * claims) unless marked `@Public()`. Kafka handlers are not HTTP and pass through.
 * SPEC: RFC 6750 §3 (WWW-Authenticate on 401).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(AUTH_VERIFIER) private readonly verifier: TokenVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const response = context.switchToHttp().getResponse<Response>();
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header) : null;
    if (!match) {
      response.setHeader('WWW-Authenticate', 'Bearer realm="medledger"');
      throw new ProblemException(401, AuthError.MISSING_TOKEN, 'Authentication required', {
        detail: 'send Authorization: Bearer <token>',
      });
    }
    const verdict = await this.verifier.verify(match[1] as string);
    if (!verdict.ok) {
      response.setHeader('WWW-Authenticate', 'Bearer realm="medledger", error="invalid_token"');
      throw new ProblemException(401, AuthError.INVALID_TOKEN, 'Invalid token', { detail: verdict.reason });
    }
    const roles = this.reflector.getAllAndOverride<ActorRole[] | undefined>(ROLES_KEY, targets);
    if (roles && !roles.includes(verdict.actor.role)) {
      throw new ProblemException(403, AuthError.FORBIDDEN_ROLE, 'Not allowed for this role', {
        detail: `role ${verdict.actor.role} may not call this route (allowed: ${roles.join(', ')})`,
      });
    }
    // A copy per request: the verified actor is cached per token, the address is this request's.
    const clientAddress = request.ip ?? request.socket.remoteAddress;
    request.actor = clientAddress === undefined ? verdict.actor : { ...verdict.actor, clientAddress };
    return true;
  }
}

import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { ServiceName } from '../config/config';
import { loadAuthConfig } from './auth.config';
import { AUTH_VERIFIER, AuthGuard } from './auth.guard';
import { SERVICE_ROLES } from './actor';
import { TokenVerifier } from './tokens';

/** Bearer-token authentication on every HTTP route of the service that imports it (see {@link AuthGuard}). */
@Module({})
export class AuthModule {
  static forRoot(service: ServiceName, env: Readonly<Record<string, string | undefined>> = process.env): DynamicModule {
    const config = loadAuthConfig(service, env);
    return {
      module: AuthModule,
      providers: [
        {
          provide: AUTH_VERIFIER,
          useValue: new TokenVerifier(
            config.publicKeys,
            config.issuer,
            config.audience,
            SERVICE_ROLES[service],
            config.maxLifetimeSeconds,
          ),
        },
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
    };
  }
}

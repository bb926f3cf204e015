import { join } from 'node:path';
import { z } from 'zod';
import { ed25519PublicKeyFromSeed } from '@medledger/ledger-core';
import { ConfigError, parseEnvironment, type ServiceName } from '../config/config';
import { devSeed } from '../config/dev-seed';

/** Clock skew accepted on `exp`/`nbf`/`iat`, in seconds (RFC 7519 §4.1.4 leaves it to the verifier). */
export const AUTH_CLOCK_TOLERANCE_S = 30;
/**
 * Longest lifetime (`exp` − `iat`) of a token accepted by default, in seconds: a working shift. A bearer token
 * that leaks is good until it expires, so an issuer minting year-long tokens is refused rather than trusted
 * (AUTH_MAX_TOKEN_LIFETIME_S changes it).
 */
export const AUTH_MAX_TOKEN_LIFETIME_S = 8 * 60 * 60;
/** Default lifetime of a token minted by `npm run token`. */
export const DEV_TOKEN_TTL = '1h';

const list = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

export const authConfigSchema = z.object({
  NODE_ENV: z.string().default('development'),
  AUTH_ISSUER: z.string().trim().min(1).default('medledger.local'),
  /** Default: `medledger-<service>`. */
  AUTH_AUDIENCE: z.string().trim().min(1).optional(),
  /** Base64 raw Ed25519 public keys (32 bytes) whose signatures are accepted, comma-separated. */
  AUTH_PUBLIC_KEYS: list.default([]),
  /** Base64 Ed25519 seed of the issuer (only where tokens are minted: dev tools, the compose demo). */
  AUTH_SIGNING_KEY: z.string().trim().optional(),
  KEYS_DIR: z.string().trim().default('.data/keys'),
  AUTH_MAX_TOKEN_LIFETIME_S: z.coerce.number().int().positive().default(AUTH_MAX_TOKEN_LIFETIME_S),
});

export interface AuthConfig {
  issuer: string;
  audience: string;
  publicKeys: Uint8Array[];
  maxLifetimeSeconds: number;
}

/** The development issuer key: created once under KEYS_DIR (git-ignored); never used in production. */
export function devAuthSeed(keysDir: string): Uint8Array {
  return devSeed(join(keysDir, 'auth-signing.seed'));
}

function decodeKey(service: ServiceName, variable: string, text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== 32) throw new ConfigError(service, [{ variable, message: 'must be base64 of 32 bytes' }]);
  return bytes;
}

/**
 * Which bearer tokens a service accepts. Outside production, with no AUTH_PUBLIC_KEYS, the development issuer key
 * under KEYS_DIR is trusted (the stack and `npm run token` use it); production refuses to start without keys.
 */
export function loadAuthConfig(service: ServiceName, env: Readonly<Record<string, string | undefined>>): AuthConfig {
  const raw = parseEnvironment(service, authConfigSchema, env);
  let publicKeys = raw.AUTH_PUBLIC_KEYS.map((key) => decodeKey(service, 'AUTH_PUBLIC_KEYS', key));
  if (publicKeys.length === 0) {
    if (raw.NODE_ENV === 'production') parseEnvironment(service, z.object({ AUTH_PUBLIC_KEYS: z.string() }), {});
    const seed = raw.AUTH_SIGNING_KEY
      ? decodeKey(service, 'AUTH_SIGNING_KEY', raw.AUTH_SIGNING_KEY)
      : devAuthSeed(raw.KEYS_DIR);
    publicKeys = [ed25519PublicKeyFromSeed(seed)];
  }
  return {
    issuer: raw.AUTH_ISSUER,
    audience: raw.AUTH_AUDIENCE ?? `medledger-${service}`,
    publicKeys,
    maxLifetimeSeconds: raw.AUTH_MAX_TOKEN_LIFETIME_S,
  };
}

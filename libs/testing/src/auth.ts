import { randomBytes } from 'node:crypto';
import { ed25519PublicKeyFromSeed } from '@medledger/ledger-core';
import { mintToken, type ActorRole, type ServiceName } from '@medledger/platform';

export interface TestAuth {
  /** Environment for the service under test: trusts this suite's issuer key only. */
  env: Record<string, string>;
  /** A bearer token for `sub` with `role`, signed by this suite's issuer key. */
  token(
    sub: string,
    role: ActorRole,
    options?: { org?: string; expiresIn?: string; audience?: string },
  ): Promise<string>;
  /** `{ authorization: 'Bearer …' }` for `sub`/`role`. */
  headers(sub: string, role: ActorRole): Promise<Record<string, string>>;
  seed: Uint8Array;
}

/** A fresh token issuer for one suite. */
export function testAuth(service: ServiceName): TestAuth {
  const seed = randomBytes(32);
  const env = {
    AUTH_PUBLIC_KEYS: Buffer.from(ed25519PublicKeyFromSeed(seed)).toString('base64'),
    AUTH_ISSUER: 'medledger.test',
  };
  const token: TestAuth['token'] = (sub, role, options = {}) =>
    mintToken(seed, {
      sub,
      role,
      ...(options.org ? { org: options.org } : {}),
      issuer: 'medledger.test',
      audience: options.audience ?? `medledger-${service}`,
      expiresIn: options.expiresIn ?? '10m',
    });
  return {
    env,
    token,
    headers: async (sub, role) => ({ authorization: `Bearer ${await token(sub, role)}` }),
    seed,
  };
}

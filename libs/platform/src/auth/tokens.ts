import { createHash, randomUUID } from 'node:crypto';
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { ed25519PublicKeyFromSeed, pkcs8FromSeed } from '@medledger/ledger-core';
import { ACTOR_ROLES, ActorClaims, ROLE_SUBJECTS, type ActorRole, type AuthenticatedActor } from './actor';
import { AUTH_CLOCK_TOLERANCE_S, AUTH_MAX_TOKEN_LIFETIME_S } from './auth.config';

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/** `kid` of an Ed25519 public key: the first 8 bytes of its SHA-256, hex (stable, short, no secret). */
export function authKeyId(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('hex').slice(0, 16);
}

function publicJwk(publicKey: Uint8Array): JWK {
  return { kty: 'OKP', crv: 'Ed25519', x: base64url(publicKey), alg: 'EdDSA', kid: authKeyId(publicKey), use: 'sig' };
}

export interface MintOptions {
  sub: string;
  role: ActorRole;
  org?: string;
  issuer: string;
  audience: string;
  /** jose duration, e.g. `1h`. */
  expiresIn: string;
}

/** Signs an EdDSA (Ed25519, RFC 8037) bearer token: for dev tools, tests and the demo. */
export async function mintToken(seed: Uint8Array, options: MintOptions): Promise<string> {
  const publicKey = ed25519PublicKeyFromSeed(seed);
  const { x: _x, ...rest } = publicJwk(publicKey);
  const privateJwk: JWK = { ...rest, x: base64url(publicKey), d: base64url(seedOf(seed)) };
  const key = await importJWK(privateJwk, 'EdDSA');
  return new SignJWT({ role: options.role, ...(options.org ? { org: options.org } : {}) })
    .setProtectedHeader({ alg: 'EdDSA', kid: authKeyId(publicKey), typ: 'JWT' })
    .setSubject(options.sub)
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt()
    .setJti(randomUUID())
    .setExpirationTime(options.expiresIn)
    .sign(key);
}

/** The raw 32-byte seed (the JWK `d` of an Ed25519 key), checked to be one. */
function seedOf(seed: Uint8Array): Uint8Array {
  pkcs8FromSeed(seed); // throws on a wrong length
  return seed;
}

/** Verified tokens remembered at most (a few hundred bytes each). */
export const VERIFIED_TOKENS_MAX = 10_000;

export type TokenVerdict = { ok: true; actor: AuthenticatedActor } | { ok: false; reason: string };

/** Verifies bearer tokens against a fixed set of Ed25519 public keys, issuer and audience. */
export class TokenVerifier {
  private readonly keys: ReturnType<typeof createLocalJWKSet>;

  constructor(
    publicKeys: readonly Uint8Array[],
    private readonly issuer: string,
    private readonly audience: string,
    /** The roles this service knows; a token with another role is invalid here (default: every role). */
    private readonly roles: readonly ActorRole[] = ACTOR_ROLES,
    /** Longest `exp` − `iat` accepted. */
    private readonly maxLifetimeSeconds: number = AUTH_MAX_TOKEN_LIFETIME_S,
  ) {
    this.keys = createLocalJWKSet({ keys: publicKeys.map(publicJwk) });
  }

  /**
   * Tokens verified lately, until they expire: a client sends the same token with every request, and an Ed25519
   * verification with jose's checks costs about 0.15 ms (5 % of a records read, `npm run bench:records`).
   */
  private readonly verified = new Map<string, { actor: AuthenticatedActor; expiresAt: number }>();

  async verify(token: string): Promise<TokenVerdict> {
    const hit = this.verified.get(token);
    if (hit && Date.now() < hit.expiresAt) return { ok: true, actor: hit.actor };
    if (hit) this.verified.delete(token);
    return this.verifyAfresh(token);
  }

  private async verifyAfresh(token: string): Promise<TokenVerdict> {
    try {
      const { payload, protectedHeader } = await jwtVerify(token, this.keys, {
        issuer: this.issuer,
        audience: this.audience,
        algorithms: ['EdDSA'],
        clockTolerance: AUTH_CLOCK_TOLERANCE_S,
        requiredClaims: ['exp', 'iat', 'sub'],
        maxTokenAge: this.maxLifetimeSeconds,
      });
      // SPEC: RFC 8725 §3.11 (explicit typing), RFC 9068 §2.1 (`at+jwt` access tokens); RFC 7515 §4.1.9 lets
      // `application/` be left out. A signed JWT of another type (an ID token, a logout token) is not a bearer token.
      const typ = protectedHeader.typ?.toLowerCase().replace(/^application\//, '');
      if (typ !== 'jwt' && typ !== 'at+jwt')
        return { ok: false, reason: `typ: ${protectedHeader.typ ?? 'absent'} is not JWT or at+jwt` };
      const lifetime = (payload.exp as number) - (payload.iat as number);
      if (lifetime > this.maxLifetimeSeconds)
        return {
          ok: false,
          reason: `exp: the token lives ${lifetime} s, longer than the ${this.maxLifetimeSeconds} s this service accepts`,
        };
      const claims = ActorClaims.safeParse(payload);
      if (!claims.success)
        return { ok: false, reason: claims.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
      if (!this.roles.includes(claims.data.role))
        return {
          ok: false,
          reason: `role: ${claims.data.role} is not a role of this service (${this.roles.join(', ')})`,
        };
      const subjectType = claims.data.sub.slice(0, claims.data.sub.indexOf('/'));
      if (!ROLE_SUBJECTS[claims.data.role].includes(subjectType))
        return {
          ok: false,
          reason: `sub: a ${subjectType} cannot hold role ${claims.data.role} (${ROLE_SUBJECTS[claims.data.role].join(' or ')})`,
        };
      const actor: AuthenticatedActor = {
        reference: claims.data.sub,
        role: claims.data.role,
        ...(claims.data.org ? { organization: claims.data.org } : {}),
        ...(typeof payload.jti === 'string' ? { tokenId: payload.jti } : {}),
      };
      // `exp` is required (requiredClaims); the cache keeps no token past it, the clock tolerance aside.
      this.verified.set(token, { actor, expiresAt: (payload.exp as number) * 1000 });
      if (this.verified.size > VERIFIED_TOKENS_MAX) this.verified.delete(this.verified.keys().next().value as string);
      return { ok: true, actor };
    } catch (error) {
      return { ok: false, reason: (error as Error).message };
    }
  }
}

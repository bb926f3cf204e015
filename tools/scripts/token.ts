/**
 * `npm run token -- --sub Practitioner/123 --role practitioner [--org Organization/1] [--ttl 1h] [--service records]`
 * prints a bearer token signed with the development issuer key (.data/keys/auth-signing.seed, or AUTH_SIGNING_KEY),
 * which the services trust outside production when AUTH_PUBLIC_KEYS is unset.
 */
import { ACTOR_ROLES, devAuthSeed, DEV_TOKEN_TTL, mintToken, type ActorRole } from '@medledger/platform';
import { join } from 'node:path';
import { ROOT } from './lib';

/** The development issuer key (AUTH_SIGNING_KEY, else the file under .data/keys). */
export function devIssuerSeed(): Uint8Array {
  const configured = process.env['AUTH_SIGNING_KEY'];
  return configured ? Buffer.from(configured, 'base64') : devAuthSeed(join(ROOT, '.data/keys'));
}

export function devToken(
  sub: string,
  role: ActorRole,
  service = 'records',
  ttl = DEV_TOKEN_TTL,
  org?: string,
): Promise<string> {
  return mintToken(devIssuerSeed(), {
    sub,
    role,
    ...(org ? { org } : {}),
    issuer: process.env['AUTH_ISSUER'] ?? 'medledger.local',
    audience: `medledger-${service}`,
    expiresIn: ttl,
  });
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const option = (name: string) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const sub = option('sub');
  const role = option('role') as ActorRole | undefined;
  if (!sub || !role || !ACTOR_ROLES.includes(role)) {
    process.stderr.write(
      `usage: npm run token -- --sub <FHIR reference> --role <${ACTOR_ROLES.join('|')}> [--ttl 1h]\n`,
    );
    process.exit(2);
  }
  const org = option('org');
  mintToken(devIssuerSeed(), {
    sub,
    role,
    ...(org ? { org } : {}),
    issuer: process.env['AUTH_ISSUER'] ?? 'medledger.local',
    audience: `medledger-${option('service') ?? 'records'}`,
    expiresIn: option('ttl') ?? DEV_TOKEN_TTL,
  }).then(
    (token) => process.stdout.write(`${token}\n`),
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exit(1);
    },
  );
}

/**
 * Scenario `access`, at the built records service: bearer tokens a careless or hostile client presents (expired,
 * another audience, another issuer, `alg: none`, algorithm confusion: HS256 keyed with the issuer's public key,
 * a key the service does not trust, no token) each refused with 401 and a stable code; and reads of another
 * patient's record without consent (a practitioner of another organization, another patient, an org admin of
 * another organization) denied as an unknown id would be, none showing any of the record, and each refusal in the
 * patient's accounting of disclosures.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ed25519PublicKeyFromSeed } from '@medledger/ledger-core';
import { mintToken, type ActorRole } from '@medledger/platform';
import { round } from '../common';
import { freshDatabase, say, startApp, type ChaosContext, type ScenarioResult } from './harness';

const ISSUER = 'medledger.chaos';
const AUDIENCE = 'medledger-records';

interface Actor {
  sub: string;
  role: ActorRole;
  org?: string;
}

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** A JWT with the header and claims given, its signature made by `sign` over `header.payload`. */
function jwt(header: object, claims: object, sign: (input: string) => string): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${sign(input)}`;
}

export async function access(context: ChaosContext): Promise<ScenarioResult> {
  const repeats = context.number('token-repeats', context.short ? 5 : 50);
  const patients = context.number('patients', context.short ? 3 : 20);
  const seed = randomBytes(32);
  const publicKey = Buffer.from(ed25519PublicKeyFromSeed(seed));
  const databaseUrl = await freshDatabase(context, 'records', 'access');
  const records = await startApp(context, 'records', 'access', {
    DATABASE_URL: databaseUrl,
    KAFKA_GROUP_ID: `chaos-records-${context.suffix}`,
    KAFKA_CLIENT_ID: `chaos-records-${context.suffix}`,
    EVENT_SIGNING_KEY: randomBytes(32).toString('base64'),
    RECORDS_MASTER_KEY: randomBytes(32).toString('base64'),
    PUBLIC_EVENTS_TOPIC: `chaos.${context.suffix}.access.records.events`,
    LEDGER_URL: 'http://127.0.0.1:9',
    AUTH_PUBLIC_KEYS: publicKey.toString('base64'),
    AUTH_ISSUER: ISSUER,
  });
  const started = performance.now();
  const token = (actor: Actor, options: { expiresIn?: string; audience?: string; issuer?: string } = {}) =>
    mintToken(seed, {
      sub: actor.sub,
      role: actor.role,
      ...(actor.org ? { org: actor.org } : {}),
      issuer: options.issuer ?? ISSUER,
      audience: options.audience ?? AUDIENCE,
      expiresIn: options.expiresIn ?? '10m',
    });

  // 1. Tokens.
  const dr: Actor = { sub: 'Practitioner/chaos-dr-a', role: 'practitioner', org: 'Organization/chaos-a' };
  const claims = () => {
    const now = Math.floor(Date.now() / 1000);
    return { sub: dr.sub, role: dr.role, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, jti: randomUUID() };
  };
  const hmac = (key: Buffer | string) => (input: string) => createHmac('sha256', key).update(input).digest('base64url');
  const tokenCases: Array<[string, () => Promise<string | undefined>]> = [
    ['no token', () => Promise.resolve(undefined)],
    ['expired', () => token(dr, { expiresIn: '-2m' })],
    ['wrong audience', () => token(dr, { audience: 'medledger-supply' })],
    ['wrong issuer', () => token(dr, { issuer: 'evil.example' })],
    ['untrusted key', () => mintToken(randomBytes(32), { ...dr, issuer: ISSUER, audience: AUDIENCE, expiresIn: '5m' })],
    ['alg none', () => Promise.resolve(jwt({ alg: 'none', typ: 'JWT' }, claims(), () => ''))],
    ['alg none (None)', () => Promise.resolve(jwt({ alg: 'None', typ: 'JWT' }, claims(), () => ''))],
    // Algorithm confusion: an HMAC keyed with what the verifier holds as the public key, in its usual spellings.
    [
      'HS256 keyed with the public key',
      () => Promise.resolve(jwt({ alg: 'HS256', typ: 'JWT' }, claims(), hmac(publicKey))),
    ],
    [
      'HS256 keyed with the base64 public key',
      () => Promise.resolve(jwt({ alg: 'HS256', typ: 'JWT' }, claims(), hmac(publicKey.toString('base64')))),
    ],
    [
      'HS256 keyed with the JWK x',
      () => Promise.resolve(jwt({ alg: 'HS256', typ: 'JWT' }, claims(), hmac(publicKey.toString('base64url')))),
    ],
    [
      'garbage',
      () => Promise.resolve(`${randomBytes(12).toString('base64url')}.${randomBytes(30).toString('base64url')}.x`),
    ],
  ];
  const unknownPatient = `/fhir/Patient/${randomUUID()}`;
  const control = await fetch(records.baseUrl + unknownPatient, {
    headers: { authorization: `Bearer ${await token(dr)}` },
  });
  if (control.status !== 404) throw new Error(`a valid token got ${control.status}, expected 404 (unknown patient)`);
  let tokensSent = 0;
  let tokensRefused = 0;
  const tokenProblems: string[] = [];
  const tokenCodes = new Set<string>();
  for (const [name, make] of tokenCases) {
    for (let i = 0; i < repeats; i++) {
      const bearer = await make();
      const response = await fetch(records.baseUrl + unknownPatient, {
        headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
      });
      tokensSent++;
      const body = (await response.json().catch(() => ({}))) as { code?: string };
      if (response.status === 401 && response.headers.get('content-type')?.includes('problem+json') && body.code) {
        tokensRefused++;
        tokenCodes.add(body.code);
      } else if (tokenProblems.length < 5) tokenProblems.push(`${name}: ${response.status} ${JSON.stringify(body)}`);
    }
  }
  say(`access: ${tokensRefused}/${tokensSent} hostile tokens refused (${[...tokenCodes].join(', ')})`);

  // 2. Cross-patient reads without consent.
  const call = async (as: Actor, method: string, path: string, body?: unknown) => {
    const response = await fetch(records.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${await token(as)}`, 'content-type': 'application/fhir+json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, text: await response.text() };
  };
  const record: Array<{ patient: string; observation: string }> = [];
  for (let i = 0; i < patients; i++) {
    const registered = await call(dr, 'POST', '/fhir/Patient', { resourceType: 'Patient', birthDate: '1950-03-03' });
    if (registered.status !== 201) throw new Error(`registering a patient: ${registered.status} ${registered.text}`);
    const patient = (JSON.parse(registered.text) as { id: string }).id;
    const written = await call({ sub: `Patient/${patient}`, role: 'patient' }, 'POST', '/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${patient}` },
      valueQuantity: { value: 70, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
    });
    if (written.status !== 201) throw new Error(`writing an Observation: ${written.status} ${written.text}`);
    record.push({ patient, observation: (JSON.parse(written.text) as { id: string }).id });
  }
  const intruders: Actor[] = [
    { sub: 'Practitioner/chaos-dr-b', role: 'practitioner', org: 'Organization/chaos-b' },
    { sub: 'Patient/' + randomUUID(), role: 'patient' },
    { sub: 'Practitioner/chaos-admin-b', role: 'org-admin', org: 'Organization/chaos-b' },
    // The practitioner who registered the patients has no consent either.
    dr,
  ];
  let reads = 0;
  let denied = 0;
  let leaked = 0;
  const leaks: string[] = [];
  const attempts = new Map<string, number>();
  for (const { patient, observation } of record) {
    const paths = [
      `/fhir/Patient/${patient}`,
      `/fhir/Observation/${observation}`,
      `/fhir/Observation/${observation}/_history`,
      `/fhir/Observation?patient=Patient/${patient}`,
      `/fhir/Patient/${patient}/$everything`,
    ];
    for (const intruder of intruders) {
      for (const path of paths) {
        const answer = await call(intruder, 'GET', path);
        reads++;
        attempts.set(`${patient}|${intruder.sub}`, (attempts.get(`${patient}|${intruder.sub}`) ?? 0) + 1);
        // Denied: no 2xx at all, or a 2xx that shows nothing of the record (an empty search Bundle).
        const shows = answer.text.includes(observation) || /"resourceType":"(Patient|Observation)"/.test(answer.text);
        if (answer.status >= 200 && answer.status < 300 && shows) {
          leaked++;
          if (leaks.length < 5) leaks.push(`${intruder.sub} ${path}: ${answer.status}`);
        } else denied++;
      }
    }
  }

  // 3. Each refusal in the patient's accounting of disclosures.
  let audited = 0;
  let pairsUnaudited = 0;
  for (const { patient } of record) {
    const accounting = await call(
      { sub: `Patient/${patient}`, role: 'patient' },
      'GET',
      `/fhir/Patient/${patient}/$disclosures?_count=1000`,
    );
    const disclosures =
      (JSON.parse(accounting.text) as { disclosures?: Array<{ actor: string; outcome: string }> }).disclosures ?? [];
    for (const intruder of intruders) {
      const refusals = disclosures.filter((d) => d.actor === intruder.sub && d.outcome !== '0').length;
      audited += refusals;
      if (refusals < (attempts.get(`${patient}|${intruder.sub}`) ?? 0)) pairsUnaudited++;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const ok = tokensRefused === tokensSent && leaked === 0 && denied === reads && pairsUnaudited === 0;
  return {
    pass: ok,
    summary:
      `hostile tokens refused ${tokensRefused}/${tokensSent} (${tokenCases.length} kinds × ${repeats}, 401 ${[...tokenCodes].join('|')}); ` +
      `cross-patient reads without consent denied ${denied}/${reads} (${patients} patients × ${intruders.length} intruders × 5 routes), ` +
      `leaked ${leaked}; refusals in the accounting ${audited} (patient-intruder pairs with fewer than their reads: ${pairsUnaudited}); ` +
      `${round(seconds)} s`,
    figures: {
      tokensSent,
      tokensRefused,
      tokenKinds: tokenCases.length,
      tokenCodes: [...tokenCodes].join('|'),
      crossPatientReads: reads,
      denied,
      leaked,
      auditedRefusals: audited,
      pairsUnaudited,
      seconds: round(seconds),
    },
    notes: [...tokenProblems, ...leaks],
  };
}

/**
 * `npm run demo`: drives the running network through its public APIs and prints what happened.
 * Today: every service answers /health; a ping sent by each service crosses Kafka and is answered by every
 * other one (each side persisting what it saw); records registers patients and the ledger seals their public
 * events, and each receipt is verified; a patient's record under her consent (refusal, consent, revocation,
 * break-glass, the accounting of disclosures sealed in the ledger, erasure); a clinical trial (demo-trial.ts); a
 * supply chain with a counterfeit caught and a recall (demo-supply.ts); medledger-verify over the whole log with the
 * ledger's and the producers' keys pinned (LEDGER_VERIFIER_KEYS, LEDGER_PRODUCER_KEYS, else the development keys).
 * Service URLs: LEDGER_URL, RECORDS_URL, TRIALS_URL, SUPPLY_URL (default http://127.0.0.1:310x).
 */
import {
  fromBase64,
  leafHash,
  parseVerifierKey,
  verifyCheckpoint,
  verifyInclusion,
  type NoteVerifier,
} from '@medledger/ledger-core';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, say } from './lib';
import { devLedgerVerifierKey, devProducerKeyring, devWitnessKeyring, writeVerifierKeyrings } from './dev-keys';
import { parseWitnessKeys, showCosignedCheckpoint } from './demo-witnesses';
import { demoSupply } from './demo-supply';
import { demoTrial } from './demo-trial';
import { devToken } from './token';

const DEFAULT_URLS: Record<string, string> = {
  ledger: 'http://127.0.0.1:3100',
  records: 'http://127.0.0.1:3101',
  trials: 'http://127.0.0.1:3102',
  supply: 'http://127.0.0.1:3103',
};
const ANSWER_TIMEOUT_MS = 30_000;

interface PingView {
  pingId: string;
  answers: Array<{ service: string; roundTripMs: number }>;
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url} -> ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

const SEAL_TIMEOUT_MS = 30_000;

/** Sample patients: PHI that must stay inside records (the demo checks the public event carries none of it). */
const PATIENTS = [
  {
    resourceType: 'Patient',
    name: [{ family: 'Nakamura', given: ['Aiko'] }],
    birthDate: '1984-03-12',
    gender: 'female',
  },
  { resourceType: 'Patient', name: [{ family: 'Okafor', given: ['Chidi'] }], birthDate: '1979-11-02', gender: 'male' },
  {
    resourceType: 'Patient',
    name: [{ family: 'Lindqvist', given: ['Maja'] }],
    birthDate: '2001-07-30',
    gender: 'female',
  },
];

interface Receipt {
  event: { id: string; type: string; data: Record<string, unknown> };
  leaf: { index: number; data: string };
  block: { height: number };
  checkpoint: string;
  proof: { treeSize: number; hashes: string[] };
}

/**
 * Step 3: records registers patients (event store + outbox, in one transaction), its relay publishes signed,
 * PHI-free events, the ledger seals them, and records returns a receipt it verified. The demo then checks each
 * receipt again, independently, against the keys the ledger publishes.
 */
async function demoReceipts(
  recordsUrl: string,
  ledgerUrl: string,
): Promise<{ ok: boolean; patients: Array<{ id: string; family: string }> }> {
  // A practitioner's token from the development issuer key (records trusts it outside production).
  const authorization = `Bearer ${await devToken('Practitioner/demo-gp', 'practitioner')}`;
  const registered: Array<{ id: string; eventId: string; family: string }> = [];
  for (const patient of PATIENTS) {
    const response = await fetch(`${recordsUrl}/fhir/Patient`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', authorization },
      body: JSON.stringify(patient),
    });
    if (response.status !== 201) throw new Error(`POST /fhir/Patient -> ${response.status} ${await response.text()}`);
    const body = (await response.json()) as { id: string; meta: { versionId: string } };
    registered.push({
      id: body.id,
      eventId: response.headers.get('x-medledger-event-id') ?? '',
      family: patient.name[0]?.family ?? '',
    });
    say(`  records: Patient/${body.id} version ${body.meta.versionId} registered`);
  }

  const keys = await json<{ keys: Array<{ verifierKey: string }> }>(`${ledgerUrl}/v1/keys`);
  const verifiers: NoteVerifier[] = keys.keys.flatMap((k) => {
    const parsed = parseVerifierKey(k.verifierKey);
    return parsed.ok ? [parsed.value] : [];
  });
  let ok = true;
  for (const patient of registered) {
    const deadline = Date.now() + SEAL_TIMEOUT_MS;
    let receipt: Receipt | undefined;
    while (!receipt) {
      const response = await fetch(`${recordsUrl}/v1/events/${patient.eventId}/receipt`, {
        headers: { authorization },
      });
      if (response.ok) receipt = (await response.json()) as Receipt;
      else if (response.status !== 404 || Date.now() > deadline) {
        say(`  receipt of ${patient.eventId}: ${response.status} ${await response.text()}`);
        return { ok: false, patients: registered };
      } else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const checkpoint = verifyCheckpoint(receipt.checkpoint, verifiers);
    const leaf = fromBase64(receipt.leaf.data) ?? new Uint8Array();
    const verdict = checkpoint.ok
      ? verifyInclusion(
          leafHash(leaf),
          receipt.leaf.index,
          checkpoint.checkpoint.size,
          receipt.proof.hashes.map((h) => fromBase64(h) ?? new Uint8Array()),
          checkpoint.checkpoint.root,
        )
      : checkpoint;
    const phiFree = !Buffer.from(leaf).toString('utf8').includes(patient.family);
    say(
      `  ${receipt.event.type} ${patient.eventId.slice(0, 8)}: leaf ${receipt.leaf.index} in block ${receipt.block.height}, ` +
        `proof of ${receipt.proof.hashes.length} hashes to tree size ${receipt.proof.treeSize} ${verdict.ok ? 'verified' : `FAILED: ${verdict.reason}`}; ` +
        `sealed data ${phiFree ? 'holds no PHI' : 'HOLDS PHI'} (commitment ${String(receipt.event.data['commitment']).slice(0, 12)}…)`,
    );
    ok &&= verdict.ok && phiFree;
  }
  return { ok, patients: registered };
}

const CONSENT_SYSTEMS = {
  scope: 'http://terminology.hl7.org/CodeSystem/consentscope',
  action: 'http://terminology.hl7.org/CodeSystem/consentaction',
  role: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  policy: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
};

/** A patient-privacy Consent that permits one practitioner to read the patient's record. */
function consentFor(patientId: string, practitioner: string, status: 'active' | 'inactive') {
  return {
    resourceType: 'Consent',
    status,
    scope: { coding: [{ system: CONSENT_SYSTEMS.scope, code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patientId}` },
    // OPTOUT: nothing is shared but what the provision (an exception to it) permits (R4; ADR 0007).
    policyRule: { coding: [{ system: CONSENT_SYSTEMS.policy, code: 'OPTOUT' }] },
    provision: {
      actor: [
        {
          role: { coding: [{ system: CONSENT_SYSTEMS.role, code: 'IRCP' }] },
          reference: { reference: practitioner },
        },
      ],
      action: [{ coding: [{ system: CONSENT_SYSTEMS.action, code: 'access' }] }],
    },
  };
}

/**
 * Step 4: a patient's record under their own consent. The patient records an Observation; a practitioner is refused,
 * permitted once the patient consents, refused again when the consent is revoked; an emergency physician breaks the
 * glass; the patient reads the accounting of disclosures, every entry sealed in the ledger; another patient has
 * her data erased, and it can no longer be read.
 */
async function demoRecord(recordsUrl: string, patients: Array<{ id: string; family: string }>): Promise<boolean> {
  const [owner, leaving] = patients;
  if (!owner || !leaving) return false;
  const as = async (sub: string, role: Parameters<typeof devToken>[1]) => ({
    authorization: `Bearer ${await devToken(sub, role)}`,
    'content-type': 'application/fhir+json',
  });
  const patient = await as(`Patient/${owner.id}`, 'patient');
  const gray = await as('Practitioner/dr-gray', 'practitioner');
  const ross = await as('Practitioner/dr-ross', 'practitioner');
  const call = (headers: Record<string, string>, method: string, path: string, body?: unknown) =>
    fetch(recordsUrl + path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  let ok = true;
  const expect = async (what: string, response: Response, status: number) => {
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    const basis = response.headers.get('x-medledger-access-basis') ?? (body['basis'] as string | undefined) ?? '';
    const pass = response.status === status;
    ok &&= pass;
    say(
      `  ${what}: ${response.status}${basis ? ` (${basis})` : ''}${pass ? '' : ` EXPECTED ${status}: ${JSON.stringify(body)}`}`,
    );
    return body;
  };

  const observation = await expect(
    `Patient/${owner.id.slice(0, 8)} records a heart rate`,
    await call(patient, 'POST', '/fhir/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
      subject: { reference: `Patient/${owner.id}` },
      effectiveDateTime: new Date().toISOString(),
      valueQuantity: { value: 64, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
    }),
    201,
  );
  const path = `/fhir/Observation/${observation['id'] as string}`;
  await expect('Dr Gray reads it without a consent (answered as an unknown id)', await call(gray, 'GET', path), 404);
  const consent = await expect(
    'the patient consents to Dr Gray reading her record',
    await call(patient, 'POST', '/fhir/Consent', consentFor(owner.id, 'Practitioner/dr-gray', 'active')),
    201,
  );
  await expect('Dr Gray reads it', await call(gray, 'GET', path), 200);
  await expect(
    'the patient revokes the consent',
    await call(
      { ...patient, 'if-match': 'W/"1"' },
      'PUT',
      `/fhir/Consent/${consent['id'] as string}`,
      consentFor(owner.id, 'Practitioner/dr-gray', 'inactive'),
    ),
    200,
  );
  await expect('Dr Gray reads it again (answered as an unknown id)', await call(gray, 'GET', path), 404);
  await expect(
    'Dr Ross (emergency) breaks the glass',
    await call(ross, 'POST', `/fhir/Patient/${owner.id}/$break-glass`, { reason: 'unconscious on arrival' }),
    201,
  );
  await expect('Dr Ross reads it', await call(ross, 'GET', path), 200);

  const deadline = Date.now() + SEAL_TIMEOUT_MS;
  let disclosures: Array<{ actor: string; interaction: string; basis: string; receipt: { leafIndex: number } | null }> =
    [];
  while (Date.now() < deadline) {
    const body = (await (await call(patient, 'GET', `/fhir/Patient/${owner.id}/$disclosures`)).json()) as {
      disclosures: typeof disclosures;
    };
    disclosures = body.disclosures;
    if (disclosures.every((d) => d.receipt !== null)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  say(`  the patient's accounting of disclosures (${disclosures.length} entries):`);
  for (const d of disclosures)
    say(
      `    ${d.actor.padEnd(22)} ${d.interaction.padEnd(12)} ${d.basis.padEnd(13)} ${d.receipt ? `sealed at leaf ${d.receipt.leafIndex}` : 'NOT SEALED'}`,
    );
  ok &&= disclosures.length >= 5 && disclosures.every((d) => d.receipt !== null);

  const leaver = await as(`Patient/${leaving.id}`, 'patient');
  await expect(
    `Patient/${leaving.id.slice(0, 8)} has her data erased`,
    await call(leaver, 'POST', `/fhir/Patient/${leaving.id}/$erase`),
    200,
  );
  await expect('her record is read again', await call(leaver, 'GET', `/fhir/Patient/${leaving.id}`), 410);
  return ok;
}

/** The witnesses' keys the demo pins: the compose stack's (LEDGER_WITNESS_KEYS) or the development network's. */
function witnessKeys(): string {
  return process.env['LEDGER_WITNESS_KEYS'] || devWitnessKeyring();
}

/**
 * Step 7: `medledger-verify chain` over everything the demo had sealed, as an auditor runs it: every block and
 * root, every event's proof of origin against the producers' keys, and the checkpoint cosigned by every witness
 * (ADR 0012), the three keyrings pinned (the compose stack's keys when LEDGER_VERIFIER_KEYS, LEDGER_PRODUCER_KEYS
 * and LEDGER_WITNESS_KEYS are set, else the development network's).
 */
function verifyLog(ledgerUrl: string): boolean {
  const env = process.env;
  const witnesses = witnessKeys();
  const keyrings = writeVerifierKeyrings({
    ledger: env['LEDGER_VERIFIER_KEYS'] || devLedgerVerifierKey(),
    producers: env['LEDGER_PRODUCER_KEYS'] || devProducerKeyring(),
    witnesses,
  });
  const verify = spawnSync(
    join(ROOT, 'node_modules/.bin/tsx'),
    [
      '--tsconfig',
      join(ROOT, 'tsconfig.base.json'),
      join(ROOT, 'tools/verify/src/main.ts'),
      'chain',
      '--url',
      ledgerUrl,
      '--keyring',
      keyrings.ledger,
      '--producer-keys',
      keyrings.producers,
      '--witness-keys',
      keyrings.witnesses,
      '--quorum',
      String(parseWitnessKeys(witnesses).length),
      '--max-age',
      '1h',
      '--quiet',
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  say(`  medledger-verify chain: ${verify.stdout.trim() || verify.stderr.trim()}`);
  return verify.status === 0;
}

export async function runDemo(urls: Record<string, string> = DEFAULT_URLS): Promise<boolean> {
  const services = Object.keys(urls);
  say('demo 1/7: every service is healthy');
  for (const service of services) {
    const health = await json<{ status: string; details: Record<string, { status: string }> }>(
      `${urls[service]}/health`,
    );
    say(
      `  ${service.padEnd(8)} ${health.status}  (${Object.entries(health.details)
        .map(([k, v]) => `${k} ${v.status}`)
        .join(', ')})`,
    );
  }

  say('demo 2/7: each service pings the others over Kafka');
  let ok = true;
  for (const origin of services) {
    const { pingId, location } = await json<{ pingId: string; location: string }>(
      `${urls[origin]}/v1/diagnostics/pings`,
      { method: 'POST' },
    );
    const others = services.filter((s) => s !== origin);
    const deadline = Date.now() + ANSWER_TIMEOUT_MS;
    let view: PingView = { pingId, answers: [] };
    while (Date.now() < deadline && view.answers.length < others.length) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      view = await json<PingView>(`${urls[origin]}${location}`);
    }
    const answered = view.answers.map((a) => `${a.service} ${a.roundTripMs} ms`).join(', ');
    const missing = others.filter((s) => !view.answers.some((a) => a.service === s));
    say(
      `  ${origin.padEnd(8)} ping ${pingId.slice(0, 8)} answered by ${answered || 'nobody'}${missing.length ? `; MISSING ${missing.join(', ')}` : ''}`,
    );
    if (missing.length) ok = false;
  }
  if (urls['ledger'] && urls['records']) {
    say('demo 3/7: records registers patients; the ledger seals their events; each receipt is verified');
    const registered = await demoReceipts(urls['records'], urls['ledger']);
    ok = registered.ok && ok;
    say("demo 4/7: a patient's record under her consent: refusal, consent, revocation, break-glass, audit, erasure");
    ok = (await demoRecord(urls['records'], registered.patients)) && ok;
  }
  if (urls['ledger'] && urls['trials']) {
    say(
      'demo 5/7: a clinical trial: anchored before enrolment, re-consent, pay by contract, outcome switching, a statement verified',
    );
    ok = (await demoTrial(urls['trials'], urls['ledger'])) && ok;
  }
  if (urls['ledger'] && urls['supply']) {
    say('demo 6/7: a supply chain: maker to pharmacy, a copied serial caught with its evidence sealed, a lot recalled');
    ok = (await demoSupply(urls['supply'])) && ok;
  }
  if (urls['ledger']) {
    say(
      "demo 7/7: the witnesses cosign the ledger's checkpoint, and medledger-verify checks the whole log, with the ledger's, the producers' and the witnesses' keys pinned",
    );
    const witnesses = witnessKeys();
    ok = (await showCosignedCheckpoint(urls['ledger'], witnesses, parseWitnessKeys(witnesses).length)) && ok;
    ok = verifyLog(urls['ledger']) && ok;
  }
  say(ok ? 'demo: OK' : 'demo: FAILED');
  return ok;
}

if (require.main === module) {
  const urls = Object.fromEntries(
    Object.keys(DEFAULT_URLS).map((s) => [s, process.env[`${s.toUpperCase()}_URL`] ?? (DEFAULT_URLS[s] as string)]),
  );
  runDemo(urls).then(
    (ok) => process.exit(ok ? 0 : 1),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}

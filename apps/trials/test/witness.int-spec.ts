import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import type { Producer } from 'kafkajs';
import {
  ed25519PublicKeyFromSeed,
  generateEd25519KeyPair,
  OriginSigner,
  parseCheckpoint,
  parseNote,
  parseWitnessKey,
  verifierKey,
  verifyCosignatures,
  witnessVerifierKey,
} from '@medledger/ledger-core';
import {
  eventually,
  runVerifyCli,
  startLedgerProcess,
  startService,
  testAuth,
  testProducer,
  uniqueSuffix,
  type LedgerProcess,
  type RunningService,
} from '@medledger/testing';
import { TrialsModule } from '../src/app.module';

/**
 * Issue 15, witnesses (ADR 0012): trials as a witness of the ledger (C2SP tlog-witness), on real Kafka and
 * PostgreSQL with the real ledger process. A dishonest operator runs two ledgers with the same signing key and
 * origin over two databases, sealing different events: two histories, each shown to some clients. The witness
 * cosigns the first; it refuses the second's checkpoint, raises the split-view alarm, and a verifier that pins the
 * witness with a quorum refuses the second ledger while it accepts the first.
 */
describe('witnesses: a split view is caught', () => {
  const suffix = uniqueSuffix();
  const origin = 'medledger.test/ledger';
  const ledgerSeed = randomBytes(32);
  const ledgerKey = verifierKey(origin, ed25519PublicKeyFromSeed(ledgerSeed));
  const witnessSeed = randomBytes(32);
  const witnessName = 'medledger.test/trials/witness';
  const witnessKey = witnessVerifierKey(witnessName, ed25519PublicKeyFromSeed(witnessSeed));
  const pinnedWitness = (() => {
    const parsed = parseWitnessKey(witnessKey);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.value;
  })();
  const producerKeys = generateEd25519KeyPair();
  const supply = new OriginSigner('supply', producerKeys.seed);
  const honestTopic = `test.${suffix}.supply.events`;
  const forkTopic = `test.${suffix}f.supply.events`;
  const keys = mkdtempSync(join(tmpdir(), 'medledger-witness-'));
  const ledgerKeyring = join(keys, 'ledger.keys');
  const witnessKeyring = join(keys, 'witness.keys');
  let witness: RunningService;
  let honest: LedgerProcess;
  let forked: LedgerProcess;
  let producer: Producer;
  const errors = jest.spyOn(Logger.prototype, 'error');

  const publish = async (topic: string, count: number) => {
    const events = supply.signBatch(
      Array.from({ length: count }, (_, n) => ({
        specversion: '1.0',
        id: randomUUID(),
        source: '/medledger/supply',
        type: 'supply.PackCommissioned',
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        data: { serial: `${topic}-${n}` },
      })),
    );
    await producer.send({ topic, messages: events.map((e) => ({ value: JSON.stringify(e) })) });
  };
  const checkpointOf = async (ledger: LedgerProcess) => (await fetch(`${ledger.baseUrl}/v1/checkpoint`)).text();
  const cosignedAt = async (ledger: LedgerProcess, size: number) => {
    const note = await checkpointOf(ledger);
    const parsed = parseNote(note);
    const body = parsed.ok ? parseCheckpoint(parsed.value.text) : undefined;
    if (!body?.ok || body.value.size !== size) return undefined;
    const verified = verifyCosignatures(note, [pinnedWitness]);
    return verified.ok && verified.cosignatures.length === 1 ? note : undefined;
  };

  beforeAll(async () => {
    writeFileSync(ledgerKeyring, `${ledgerKey}\n`);
    writeFileSync(witnessKeyring, `# the trials witness\n${witnessKey}\n`);
    witness = await startService('trials', (config) =>
      TrialsModule.forRoot(config, {
        ...testAuth('trials').env,
        LEDGER_VERIFIER_KEYS: ledgerKey,
        LEDGER_ORIGIN: origin,
        WITNESS_SIGNING_KEY: witnessSeed.toString('base64'),
        WITNESS_NAME: witnessName,
        // Its own receipts are not under test: no ledger answers there.
        LEDGER_URL: 'http://127.0.0.1:9',
        PUBLIC_EVENTS_TOPIC: `test.${suffix}.trials.events`,
        KEYS_DIR: `.data/test-keys/${suffix}`,
      }),
    );
    const ledgerEnv = {
      LEDGER_SIGNING_KEY: ledgerSeed.toString('base64'),
      LEDGER_WITNESSES: `${witnessKey}=${witness.baseUrl}/witness/add-checkpoint`,
      LEDGER_BLOCK_MAX_AGE_MS: '50',
    };
    const producersKeyring = [verifierKey('supply', producerKeys.publicKey)];
    honest = await startLedgerProcess({ topics: [honestTopic], producerKeys: producersKeyring, env: ledgerEnv });
    forked = await startLedgerProcess({ topics: [forkTopic], producerKeys: producersKeyring, env: ledgerEnv });
    producer = await testProducer();
  }, 120_000);

  afterAll(async () => {
    errors.mockRestore();
    await producer?.disconnect();
    await forked?.stop();
    await honest?.stop();
    await witness?.close();
  });

  it('cosigns the honest ledger from size 0, then each checkpoint that extends it by a consistency proof', async () => {
    await publish(honestTopic, 3);
    await eventually(() => cosignedAt(honest, 3));
    await publish(honestTopic, 2);
    const note = await eventually(() => cosignedAt(honest, 5));
    // The ledger's signature first, then the witness's cosignature line.
    expect(note.split('\n\n')[1]?.split('\n').filter(Boolean)).toHaveLength(2);
    const state = await fetch(`${honest.baseUrl}/v1/checkpoint?witnessed=1`);
    expect(await state.text()).toBe(note);
  });

  it("refuses the forked ledger's checkpoint (422), raises the alarm, and the fork carries no cosignature", async () => {
    await publish(forkTopic, 7);
    await eventually(async () => ((await fetch(`${forked.baseUrl}/v1/blocks/latest`)).ok ? true : undefined));
    // The ledger asked from size 0, learnt the witness's size from its 409, proved from it, and was refused.
    await eventually(() => (/HTTP 422/.test(forked.output()) ? true : undefined));
    expect(forked.output()).toMatch(/another history was signed with this ledger's key/);
    const forkedMetrics = await (await fetch(`${forked.baseUrl}/metrics`)).text();
    expect(forkedMetrics).toMatch(
      /^ledger_witness_answers_total\{witness="medledger\.test\/trials\/witness",outcome="inconsistent"\} [1-9]/m,
    );
    const alarm = errors.mock.calls.find((call) => /SPLIT VIEW/.test(String(call[1] ?? call[0])));
    expect(alarm).toBeDefined();
    const metrics = await (await fetch(`${witness.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^witness_split_view_total [1-9]/m);
    const note = await checkpointOf(forked);
    const verified = verifyCosignatures(note, [pinnedWitness]);
    expect(verified).toMatchObject({ ok: true, cosignatures: [] });
    expect((await fetch(`${forked.baseUrl}/v1/checkpoint?witnessed=1`)).status).toBe(404);
    // The witness still stands by the honest history.
    const honestNow = await checkpointOf(honest);
    expect(verifyCosignatures(honestNow, [pinnedWitness])).toMatchObject({ ok: true, cosignatures: [{}] });
  });

  it('medledger-verify with the witness pinned passes the honest ledger and refuses the fork', async () => {
    const witnessed = ['--keyring', ledgerKeyring, '--witness-keys', witnessKeyring, '--quorum', '1', '--quiet'];
    const good = await runVerifyCli('chain', '--url', honest.baseUrl, ...witnessed);
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/^OK chain: .*cosigned by medledger\.test\/trials\/witness \(quorum 1 of 1/m);

    const bad = await runVerifyCli('chain', '--url', forked.baseUrl, ...witnessed);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/VERIFY\.NOT_WITNESSED/);
    const badInclusion = await runVerifyCli(
      'consistency',
      '--url',
      forked.baseUrl,
      '--state',
      join(keys, 'state'),
      ...witnessed.filter((a) => a !== '--quiet'),
    );
    expect(badInclusion.code).toBe(1);

    // Without the witnesses the fork is a perfectly signed log: only the cosignatures tell the histories apart.
    const blind = await runVerifyCli('chain', '--url', forked.baseUrl, '--keyring', ledgerKeyring, '--quiet');
    expect(blind.code).toBe(0);
  });
});

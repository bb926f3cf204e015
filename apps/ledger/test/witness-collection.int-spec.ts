import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Producer } from 'kafkajs';
import {
  createWitnessSigner,
  ed25519PublicKeyFromSeed,
  decideAddCheckpoint,
  generateEd25519KeyPair,
  openAddCheckpoint,
  OriginSigner,
  parseCheckpoint,
  parseNote,
  parseVerifierKey,
  parseWitnessKey,
  verifierKey,
  verifyCosignatures,
  WITNESS_INITIAL_STATE,
  witnessVerifierKey,
  type NoteVerifier,
  type WitnessState,
} from '@medledger/ledger-core';
import { eventually, startService, testProducer, uniqueSuffix, type RunningService } from '@medledger/testing';
import { LedgerModule } from '../src/app.module';

type Mode = 'unavailable' | 'honest' | 'wrong-key' | 'hang';

/**
 * The ledger's side of the witnesses (ADR 0012) on real Kafka and PostgreSQL, against a witness made of ledger-core's
 * add-checkpoint functions behind a real HTTP server whose behaviour the test switches: the ledger keeps sealing
 * whatever the witness does, collects once it answers, and stores only cosignatures by the pinned key.
 */
describe('ledger: witness cosignatures collected in the background', () => {
  const suffix = uniqueSuffix();
  const topic = `test.${suffix}.supply.events`;
  const keys = generateEd25519KeyPair();
  const supply = new OriginSigner('supply', keys.seed);
  const witness = createWitnessSigner('witness.test/w1', randomBytes(32));
  const impostor = createWitnessSigner('witness.test/w1', randomBytes(32));
  const pinned = (() => {
    const parsed = parseWitnessKey(witnessVerifierKey(witness.name, witness.publicKey));
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.value;
  })();
  let mode: Mode = 'unavailable';
  let requests = 0;
  let state: WitnessState = WITNESS_INITIAL_STATE;
  const hanging: Array<() => void> = [];
  let server: Server;
  let ledger: RunningService;
  let producer: Producer;
  let logs: Map<string, NoteVerifier[]>;
  let closed = false;

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        requests += 1;
        if (mode === 'unavailable') return void response.writeHead(503).end('down for maintenance');
        if (mode === 'hang') return void hanging.push(() => response.writeHead(503).end());
        const opened = openAddCheckpoint(body, logs);
        if (!opened.ok) return void response.writeHead(opened.status).end(opened.reason);
        const verdict = decideAddCheckpoint(opened, state);
        if (!verdict.ok) {
          if (verdict.status === 409)
            return void response.writeHead(409, { 'Content-Type': 'text/x.tlog.size' }).end(`${state.size}\n`);
          return void response.writeHead(verdict.status).end(verdict.reason);
        }
        state = { size: opened.checkpoint.size, root: opened.checkpoint.root };
        const signer = mode === 'wrong-key' ? impostor : witness;
        response.writeHead(200).end(signer.cosign(opened.text, Math.floor(Date.now() / 1000)));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/add-checkpoint`;
    const ledgerSeed = randomBytes(32);
    ledger = await startService('ledger', (config) =>
      LedgerModule.forRoot(config, {
        LEDGER_TOPICS: topic,
        LEDGER_GROUP_ID: `ledger-test-${suffix}`,
        LEDGER_PRODUCER_KEYS: verifierKey('supply', keys.publicKey),
        LEDGER_SIGNING_KEY: ledgerSeed.toString('base64'),
        LEDGER_ORIGIN: 'medledger.test/ledger',
        LEDGER_BLOCK_MAX_AGE_MS: '50',
        LEDGER_WITNESSES: `${witnessVerifierKey(witness.name, witness.publicKey)}=${url}`,
        KEYS_DIR: `.data/test-keys/${suffix}`,
      }),
    );
    const ledgerKey = parseVerifierKey(verifierKey('medledger.test/ledger', ed25519PublicKeyFromSeed(ledgerSeed)));
    if (!ledgerKey.ok) throw new Error(ledgerKey.reason);
    logs = new Map([['medledger.test/ledger', [ledgerKey.value]]]);
    producer = await testProducer();
  });

  afterAll(async () => {
    hanging.forEach((release) => release());
    await producer?.disconnect();
    if (!closed) await ledger?.close();
    await new Promise((resolve) => server.close(resolve));
  });

  const publish = async (count: number) => {
    const events = supply.signBatch(
      Array.from({ length: count }, (_, n) => ({
        specversion: '1.0',
        id: randomUUID(),
        source: '/medledger/supply',
        type: 'supply.PackCommissioned',
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        data: { serial: `S${n}` },
      })),
    );
    await producer.send({ topic, messages: events.map((e) => ({ value: JSON.stringify(e) })) });
  };
  const checkpoint = async () => {
    const note = await (await fetch(`${ledger.baseUrl}/v1/checkpoint`)).text();
    const parsed = parseNote(note);
    const body = parsed.ok ? parseCheckpoint(parsed.value.text) : undefined;
    const cosigned = verifyCosignatures(note, [pinned]);
    return {
      size: body?.ok ? body.value.size : -1,
      cosignatures: cosigned.ok ? cosigned.cosignatures.length : -1,
      lines: parsed.ok ? parsed.value.signatures.length : 0,
    };
  };

  it('keeps sealing while the witness is down, and serves the checkpoint with its own signature only', async () => {
    await publish(3);
    await eventually(async () => ((await checkpoint()).size === 3 ? true : undefined));
    await eventually(async () => (requests > 0 ? true : undefined));
    expect(await checkpoint()).toEqual({ size: 3, cosignatures: 0, lines: 1 });
    expect((await fetch(`${ledger.baseUrl}/v1/checkpoint?witnessed=1`)).status).toBe(404);
  });

  it('collects the cosignature once the witness answers (retried with back-off)', async () => {
    mode = 'honest';
    await eventually(async () => ((await checkpoint()).cosignatures === 1 ? true : undefined), { timeoutMs: 20_000 });
    expect(state.size).toBe(3);
    await publish(2);
    await eventually(async () => {
      const now = await checkpoint();
      return now.size === 5 && now.cosignatures === 1 ? true : undefined;
    });
  });

  it('does not wait for a witness that hangs', async () => {
    mode = 'hang';
    await publish(2);
    await eventually(async () => ((await checkpoint()).size === 7 ? true : undefined));
    expect(await checkpoint()).toMatchObject({ size: 7, cosignatures: 0 });
    hanging.splice(0).forEach((release) => release());
  });

  it('stores no cosignature that the pinned witness key did not make', async () => {
    mode = 'wrong-key';
    const before = requests;
    await publish(1);
    await eventually(async () => ((await checkpoint()).size === 8 && requests > before ? true : undefined), {
      timeoutMs: 20_000,
    });
    expect(await checkpoint()).toMatchObject({ size: 8, cosignatures: 0, lines: 1 });
    const metrics = await (await fetch(`${ledger.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^ledger_witness_answers_total\{witness="witness\.test\/w1",outcome="invalid"\} [1-9]/m);
    expect(metrics).toMatch(/^ledger_witness_answers_total\{witness="witness\.test\/w1",outcome="cosigned"\} [1-9]/m);
    // The newest checkpoint the witness did cosign is still served to those who ask for one.
    const newest = parseNote(await (await fetch(`${ledger.baseUrl}/v1/checkpoint?witnessed=1`)).text());
    expect(newest.ok && parseCheckpoint(newest.value.text)).toMatchObject({ value: { size: 5 } });
  });

  it('stops at once though a request to a witness hangs (WITNESS_REQUEST_TIMEOUT_MS is 5 s)', async () => {
    mode = 'hang';
    await publish(1);
    await eventually(async () => (hanging.length > 0 ? true : undefined), { timeoutMs: 40_000 });
    const started = Date.now();
    await ledger.close();
    closed = true;
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});

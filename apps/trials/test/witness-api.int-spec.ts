import { createHash, randomBytes } from 'node:crypto';
import {
  createSigner,
  ed25519PublicKeyFromSeed,
  formatAddCheckpoint,
  leafHash,
  MemoryMerkleTree,
  parseWitnessKey,
  signCheckpoint,
  verifierKey,
  verifyCosignatures,
  witnessVerifierKey,
} from '@medledger/ledger-core';
import { WitnessService } from '@medledger/event-store';
import { startService, testAuth, uniqueSuffix, type RunningService } from '@medledger/testing';
import { TrialsModule } from '../src/app.module';

/**
 * The witness API of an event-sourced service (libs/event-store, ADR 0012) on real PostgreSQL: C2SP tlog-witness
 * add-checkpoint, status by status, and its state advanced atomically under concurrent requests.
 */
describe('witness API (C2SP tlog-witness add-checkpoint)', () => {
  const suffix = uniqueSuffix();
  const origin = 'medledger.test/ledger';
  const ledger = createSigner(origin, randomBytes(32));
  const witnessSeed = randomBytes(32);
  const witnessName = 'medledger.test/trials/witness';
  const witness = (() => {
    const parsed = parseWitnessKey(witnessVerifierKey(witnessName, ed25519PublicKeyFromSeed(witnessSeed)));
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.value;
  })();
  const tree = new MemoryMerkleTree(Array.from({ length: 64 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`))));
  const other = new MemoryMerkleTree(Array.from({ length: 64 }, (_, i) => leafHash(Buffer.from(`fork ${i}`))));
  let trials: RunningService;

  const note = (size: number, from = tree, signer = ledger) =>
    signCheckpoint({ origin, size, root: from.root(size), extensions: [] }, [signer]);
  const post = async (body: string) => {
    const response = await fetch(`${trials.baseUrl}/witness/add-checkpoint`, { method: 'POST', body });
    return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
  };
  const add = (oldSize: number, size: number, from = tree) =>
    post(
      formatAddCheckpoint({
        oldSize,
        proof: oldSize === 0 ? [] : from.consistencyProof(oldSize, size),
        checkpoint: note(size, from),
      }),
    );

  beforeAll(async () => {
    trials = await startService('trials', (config) =>
      TrialsModule.forRoot(config, {
        ...testAuth('trials').env,
        LEDGER_VERIFIER_KEYS: verifierKey(origin, ledger.publicKey),
        LEDGER_ORIGIN: origin,
        WITNESS_SIGNING_KEY: witnessSeed.toString('base64'),
        WITNESS_NAME: witnessName,
        LEDGER_URL: 'http://127.0.0.1:9',
        PUBLIC_EVENTS_TOPIC: `test.${suffix}.trials.events`,
        KEYS_DIR: `.data/test-keys/${suffix}`,
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await trials?.close();
  });

  it('cosigns the first checkpoint from old 0 (200, a cosignature/v1 line), without a token', async () => {
    const answer = await add(0, 4);
    expect(answer.status).toBe(200);
    const verified = verifyCosignatures(note(4) + answer.text, [witness]);
    expect(verified).toMatchObject({ ok: true, cosignatures: [{ name: witnessName }] });
    const now = Date.now() / 1000;
    if (verified.ok) expect(Math.abs((verified.cosignatures[0]?.timestamp ?? 0) - now)).toBeLessThan(60);
  });

  it('answers 409 text/x.tlog.size with its size to a stale old size', async () => {
    const answer = await add(0, 8);
    expect(answer).toMatchObject({ status: 409, text: '4\n' });
    expect(answer.type).toMatch(/^text\/x\.tlog\.size/);
  });

  it('cosigns a checkpoint that extends it by a consistency proof, and serves it to monitors', async () => {
    expect((await add(4, 8)).status).toBe(200);
    const hash = createHash('sha256').update(origin).digest('hex');
    const monitored = await fetch(`${trials.baseUrl}/witness/${hash}/checkpoint`);
    expect(monitored.status).toBe(200);
    const text = await monitored.text();
    expect(text.startsWith(note(8))).toBe(true);
    expect(verifyCosignatures(text, [witness])).toMatchObject({ ok: true, cosignatures: [{}] });
  });

  it('refuses with 422 a checkpoint of another history, at the same size or larger, and counts the alarm', async () => {
    const same = await add(8, 8, other);
    expect(same.status).toBe(422);
    expect(JSON.parse(same.text)).toMatchObject({ code: 'WITNESS.INCONSISTENT' });
    expect((await add(8, 12, other)).status).toBe(422);
    const metrics = await (await fetch(`${trials.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^witness_split_view_total 2$/m);
    // Its state did not move: the honest history goes on.
    expect((await add(8, 12)).status).toBe(200);
  });

  it.each<[string, () => string, number]>([
    [
      '403 to a checkpoint signed by another key of the origin',
      () =>
        formatAddCheckpoint({
          oldSize: 12,
          proof: tree.consistencyProof(12, 13),
          checkpoint: note(13, tree, createSigner(origin, randomBytes(32))),
        }),
      403,
    ],
    [
      '404 to a checkpoint of another origin',
      () =>
        formatAddCheckpoint({
          oldSize: 0,
          proof: [],
          checkpoint: signCheckpoint({ origin: 'other.test/log', size: 1, root: tree.root(1), extensions: [] }, [
            createSigner('other.test/log', randomBytes(32)),
          ]),
        }),
      404,
    ],
    ['400 to a malformed body', () => 'old x\n\nnot a checkpoint', 400],
    [
      '400 to an old size above the checkpoint size',
      () => formatAddCheckpoint({ oldSize: 20, proof: [], checkpoint: note(13) }),
      400,
    ],
  ])('answers %s', async (_what, body, status) => {
    expect((await post(body())).status).toBe(status);
  });

  it('lets exactly one of many concurrent requests from the same old size advance its state', async () => {
    const sizes = Array.from({ length: 12 }, (_, i) => 13 + i);
    const answers = await Promise.all(sizes.map((size) => add(12, size)));
    const cosigned = answers.filter((a) => a.status === 200);
    expect(cosigned).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(sizes.length - 1);
    // The size every loser was told is the one the winner cosigned.
    const winner = sizes[answers.findIndex((a) => a.status === 200)] as number;
    expect(new Set(answers.filter((a) => a.status === 409).map((a) => a.text))).toEqual(new Set([`${winner}\n`]));
    expect((await add(winner, 40)).status).toBe(200);
  });

  it('advances its state once under requests interleaved in one process (the compare-and-swap, not luck)', async () => {
    // In-process, every call reads the state before any of them writes: without the compare-and-swap each would
    // cosign its own checkpoint, and the state would end at whichever wrote last (rolling back leaves).
    const service = trials.app.get(WitnessService);
    const body = (size: number) =>
      formatAddCheckpoint({ oldSize: 40, proof: tree.consistencyProof(40, size), checkpoint: note(size) });
    const sizes = [41, 48, 44, 63, 50];
    const answers = await Promise.all(sizes.map((size) => service.addCheckpoint(body(size))));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    const winner = sizes[answers.findIndex((a) => a.status === 200)] as number;
    expect(answers.filter((a) => a.status === 409).map((a) => a.body)).toEqual(Array(4).fill(`${winner}\n`));
  });
});

import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWitnessSigner, parseNote, verifierKey, witnessVerifierKey } from '@medledger/ledger-core';
import { buildLedger, signer, stream, type TestLedger } from '../test/test-ledger';
import { bundleChunks } from './bundle';
import { EXIT, run } from './cli';

const AFTER_LAST_BLOCK = Date.parse('2026-11-23T12:01:00.000Z');
const dir = mkdtempSync(join(tmpdir(), 'verify-witnesses-'));
const keyring = join(dir, 'ledger.keys');
writeFileSync(keyring, `${verifierKey(signer().name, signer().publicKey)}\n`);
const [w1, w2, stranger] = ['w1', 'w2', 'w1'].map((n) => createWitnessSigner(`witness.test/${n}`, randomBytes(32)));
const witnessKeys = join(dir, 'witnesses.keys');
writeFileSync(
  witnessKeys,
  `# two witnesses\n${[w1, w2].map((w) => witnessVerifierKey(w!.name, w!.publicKey)).join('\n')}\n`,
);

async function cli(...argv: string[]) {
  const out = { stdout: '', stderr: '' };
  const code = await run(argv, {
    stdout: { write: (text: string) => void (out.stdout += text) },
    stderr: { write: (text: string) => void (out.stderr += text) },
    now: () => AFTER_LAST_BLOCK,
  });
  return { code, ...out };
}

/** A bundle of a test ledger whose latest checkpoint carries these cosignature lines. */
async function bundle(lines: (text: string) => string, name: string): Promise<string> {
  const ledger: TestLedger = buildLedger({ blockSizes: [3, 5] });
  const note = ledger.checkpoint as string;
  const parsed = parseNote(note);
  if (!parsed.ok) throw new Error(parsed.reason);
  const header = { origin: 'test.local/ledger', keys: [], checkpoint: note + lines(parsed.value.text) };
  let text = '';
  for await (const chunk of bundleChunks(header, stream(ledger.blocks), stream(ledger.leaves))) text += chunk;
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const T = 1_795_000_000;

describe('medledger-verify --witness-keys --quorum (ADR 0012)', () => {
  it('passes a checkpoint cosigned by the quorum and names the witnesses', async () => {
    const file = await bundle((text) => w1!.cosign(text, T) + w2!.cosign(text, T), 'both.json');
    const result = await cli(
      'chain',
      '--bundle',
      file,
      '--keyring',
      keyring,
      '--witness-keys',
      witnessKeys,
      '--quorum',
      '2',
      '--quiet',
    );
    expect(result.code).toBe(EXIT.OK);
    expect(result.stdout).toMatch(/cosigned by witness\.test\/w1, witness\.test\/w2 \(quorum 2 of 2 in /);
  });

  it.each<[string, (text: string) => string, string, string]>([
    ['no cosignature', () => '', '1', 'VERIFY.NOT_WITNESSED'],
    ['one of two', (text) => w1!.cosign(text, T), '2', 'VERIFY.NOT_WITNESSED'],
    ['the same witness twice', (text) => w1!.cosign(text, T) + w1!.cosign(text, T + 1), '2', 'VERIFY.NOT_WITNESSED'],
    ['a key of the same name that is not pinned', (text) => stranger!.cosign(text, T), '1', 'VERIFY.NOT_WITNESSED'],
    [
      'a cosignature of another checkpoint',
      (text) => w1!.cosign(text.replace(/\n8\n/, '\n9\n'), T),
      '1',
      'VERIFY.COSIGNATURE_INVALID',
    ],
  ])('refuses %s, exit 1', async (what, lines, quorum, code) => {
    const file = await bundle(lines, `${what.replace(/\W/g, '-')}.json`);
    const result = await cli(
      'chain',
      '--bundle',
      file,
      '--keyring',
      keyring,
      '--witness-keys',
      witnessKeys,
      '--quorum',
      quorum,
      '--quiet',
    );
    expect(result.code).toBe(EXIT.FINDING);
    expect(result.stdout).toContain(code);
  });

  it('verifies without them as before', async () => {
    const file = await bundle(() => '', 'plain.json');
    const result = await cli('chain', '--bundle', file, '--keyring', keyring, '--quiet');
    expect(result.code).toBe(EXIT.OK);
  });

  it('checks an inclusion against the cosigned checkpoint of a bundle, also with --max-age', async () => {
    const file = await bundle((text) => w1!.cosign(text, T) + w2!.cosign(text, T), 'inclusion.json');
    const result = await cli(
      'inclusion',
      '--bundle',
      file,
      '--event',
      'evt-4',
      '--keyring',
      keyring,
      '--max-age',
      '1h',
      '--witness-keys',
      witnessKeys,
      '--quorum',
      '2',
      '--quiet',
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(EXIT.OK);
    expect(result.stdout).toMatch(/^OK inclusion: .*cosigned by witness\.test\/w1, witness\.test\/w2/);
  });

  it.each<[string[], RegExp]>([
    [['--quorum', '1'], /--quorum needs --witness-keys/],
    [['--witness-keys', witnessKeys, '--quorum', '3'], /--quorum must be 1\.\.2/],
    [['--witness-keys', witnessKeys, '--quorum', '0'], /--quorum must be 1\.\.2/],
    [['--witness-keys', keyring], /not a witness key/],
  ])('%j cannot verify, exit 2', async (options, message) => {
    const file = await bundle(() => '', 'usage.json');
    const result = await cli('chain', '--bundle', file, '--keyring', keyring, '--quiet', ...options);
    expect(result.code).toBe(EXIT.CANNOT_VERIFY);
    expect(result.stderr).toMatch(message);
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifierKey } from '@medledger/ledger-core';
import { containing } from '../test/matchers';
import { at, buildLedger, producer, reseal, signer, stream, type TestLedger } from '../test/test-ledger';
import { bundleChunks } from './bundle';
import { EXIT, run, splitViewAlarm } from './cli';

/** The test ledgers' blocks are sealed on 2026-11-23 from 12:00:01 (test-ledger T0). */
const AFTER_LAST_BLOCK = Date.parse('2026-11-23T12:01:00.000Z');

async function cli(...argv: string[]) {
  const out = { stdout: '', stderr: '' };
  const code = await run(argv, {
    stdout: { write: (text: string) => void (out.stdout += text) },
    stderr: { write: (text: string) => void (out.stderr += text) },
    now: () => AFTER_LAST_BLOCK,
  });
  return { code, ...out };
}

const dir = mkdtempSync(join(tmpdir(), 'verify-cli-'));
const keyring = join(dir, 'ledger.keys');
const producerKeys = join(dir, 'producers.keys');
writeFileSync(keyring, `${verifierKey(signer().name, signer().publicKey)}\n`);
writeFileSync(producerKeys, `# supply's event key\n${verifierKey('supply', producer().publicKey)}\n`);

/** Writes `ledger` as a bundle file and returns its path. */
async function bundleOf(ledger: TestLedger, name: string): Promise<string> {
  let text = '';
  const header = { origin: 'test.local/ledger', keys: [], checkpoint: ledger.checkpoint ?? null };
  for await (const chunk of bundleChunks(header, stream(ledger.blocks), stream(ledger.leaves))) text += chunk;
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('medledger-verify arguments', () => {
  it('prints usage for --help, exit 0', async () => {
    expect(await cli('--help')).toMatchObject({ code: EXIT.OK, stdout: containing('usage:') });
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['chain'], /--url <ledger> or --bundle <file> is required/],
    [['chain', '--url', 'http://x', '--bundle', 'b.json'], /not both/],
    [['chain', '--url', 'ftp://x'], /--url must be http\(s\)/],
    [['chain', '--url', 'http://x', '--batch', '5000'], /--batch must be 1..1000/],
    [['export', '--url', 'http://x', '--out', 'o', '--state', 's'], /export does not take --state/],
    [['inclusion', '--url', 'http://x', '--event', 'e', '--allow-empty'], /inclusion does not take --allow-empty/],
    [['chain', '--url', 'http://x', '--max-age', 'soon'], /--max-age must be seconds/],
    [['inclusion', '--url', 'http://x'], /--event <id> is required/],
    [['consistency', '--bundle', 'b.json', '--state', 's'], /consistency does not take --bundle/],
    [['export', '--url', 'http://x'], /--out <bundle.json> is required/],
    [['chain', '--url', 'http://x', 'extra'], /Unexpected argument 'extra'/],
    [['chain', '--bundle', 'b.json', '--deep'], /--deep checks the proofs a ledger serves: it needs --url/],
    [['chain', '--url', 'http://x', '--sample', '5'], /--sample goes with --deep/],
    [['chain', '--url', 'http://x', '--deep', '--sample', '0'], /--sample must be a positive number of leaves, or all/],
    [['inclusion', '--url', 'http://x', '--event', 'e', '--deep'], /inclusion does not take --deep/],
    [['audit', '--keyring', 'k'], /--database-url <postgresql:\/\/...> is required/],
    [['audit', '--database-url', 'postgresql://x/y'], /audit needs --keyring <file>/],
    [['audit', '--database-url', 'postgresql://x/y', '--url', 'http://x'], /audit does not take --url/],
    [['chain', '--url', 'http://x', '--database-url', 'postgresql://x/y'], /chain does not take --database-url/],
  ])('%j is a usage error, exit 2', async (argv, message) => {
    const result = await cli(...argv);
    expect(result.code).toBe(EXIT.CANNOT_VERIFY);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('[VERIFY.USAGE]');
    expect(result.stdout).toBe('');
  });

  it('exits 2 when the keyring cannot be read', async () => {
    const result = await cli('chain', '--url', 'http://127.0.0.1:9', '--keyring', '/nonexistent/ring');
    expect(result).toMatchObject({ code: EXIT.CANNOT_VERIFY, stderr: containing('[VERIFY.KEYRING]') });
  });
});

describe('chain from a bundle, with the new checks', () => {
  const ledger = buildLedger();
  const chain = async (bundle: string, ...more: string[]) =>
    cli('chain', '--bundle', bundle, '--keyring', keyring, '--quiet', ...more);

  it('checks proofs of origin with --producer-keys (a file, or the keys inline), and says so', async () => {
    const bundle = await bundleOf(ledger, 'sound.json');
    expect((await chain(bundle)).stdout).toContain("events' proofs of origin NOT checked (no --producer-keys)");
    const pinned = await chain(bundle, '--producer-keys', producerKeys);
    expect(pinned).toMatchObject({
      code: EXIT.OK,
      stdout: containing(`proofs of origin: producer keyring ${producerKeys}`),
    });
    const inline = await chain(bundle, '--producer-keys', verifierKey('supply', producer().publicKey));
    expect(inline).toMatchObject({ code: EXIT.OK, stdout: containing('producer keys given inline') });
    const bad = await chain(bundle, '--producer-keys', 'supply+nothex+AAAA');
    expect(bad).toMatchObject({ code: EXIT.CANNOT_VERIFY, stderr: containing('[VERIFY.KEYRING]') });
  });

  it('names the leaf of an event the operator changed and re-sealed', async () => {
    const forged = reseal(ledger, (c) => (c.index === 7 ? { ...c, event: { ...c.event, data: { serial: 'X' } } } : c));
    const bundle = await bundleOf(forged, 'forged.json');
    expect((await chain(bundle)).code).toBe(EXIT.OK);
    expect(await chain(bundle, '--producer-keys', producerKeys)).toMatchObject({
      code: EXIT.FINDING,
      stdout: containing('FAIL block 1: leaf 7: event "evt-7": proof of origin fails ('),
    });
  });

  it('refuses an empty log unless --allow-empty', async () => {
    const empty = await bundleOf(buildLedger({ blockSizes: [] }), 'empty.json');
    expect(await chain(empty)).toMatchObject({ code: EXIT.FINDING, stdout: containing('[VERIFY.EMPTY_LOG]') });
    expect(await chain(empty, '--allow-empty')).toMatchObject({
      code: EXIT.OK,
      stdout: containing('OK chain: 0 blocks'),
    });
  });

  it('bounds the age of the newest checkpoint with --max-age', async () => {
    const bundle = await bundleOf(ledger, 'aged.json');
    // The last block is sealed at 12:00:05; the run is at 12:01:00.
    expect((await chain(bundle, '--max-age', '2m')).code).toBe(EXIT.OK);
    expect(await chain(bundle, '--max-age', '30s')).toMatchObject({
      code: EXIT.FINDING,
      stdout: containing(`FAIL checkpoint: the newest block was sealed at ${at(ledger.blocks, 4).sealedAt}, 55 s ago`),
    });
  });

  it('records its state, then raises the alarm at a rewritten history or a shrunk tree', async () => {
    const state = join(dir, 'chain.state');
    const small = await bundleOf(buildLedger({ blockSizes: [3, 5] }), 'small.json');
    expect(await chain(small, '--state', state)).toMatchObject({ code: EXIT.OK, stdout: containing('first use') });
    expect(readFileSync(state, 'utf8').split('\n')[1]).toBe('8');
    const grown = await bundleOf(ledger, 'grown.json');
    expect(await chain(grown, '--state', state)).toMatchObject({
      code: EXIT.OK,
      stdout: containing('extends the tree size 8 recorded in'),
    });
    expect(readFileSync(state, 'utf8').split('\n')[1]).toBe('21');

    const rewritten = reseal(ledger, (c) => (c.index === 2 ? { ...c, receivedAt: '2026-11-23T12:00:00.500Z' } : c));
    const alarm = await chain(await bundleOf(rewritten, 'rewritten.json'), '--state', state);
    expect(alarm).toMatchObject({ code: EXIT.FINDING, stdout: containing('SPLIT VIEW OR REWRITTEN HISTORY DETECTED') });
    expect(alarm.stdout).toContain('[VERIFY.ROOT_CHANGED]');
    const shrunk = await chain(small, '--state', state);
    expect(shrunk).toMatchObject({ code: EXIT.FINDING, stdout: containing('[VERIFY.TREE_SHRANK]') });
    expect(shrunk.stdout).toContain('SPLIT VIEW OR REWRITTEN HISTORY DETECTED');
    expect(readFileSync(state, 'utf8').split('\n')[1]).toBe('21'); // unchanged by the failures
  });
});

describe('inclusion from a bundle, with the new checks', () => {
  const ledger = buildLedger();

  it("checks the event's proof of origin, the checkpoint's age and the state", async () => {
    const bundle = await bundleOf(ledger, 'inclusion.json');
    const state = join(dir, 'inclusion.state');
    const args = ['inclusion', '--bundle', bundle, '--keyring', keyring, '--event', 'evt-9', '--state', state];
    const first = await cli(...args, '--producer-keys', producerKeys, '--max-age', '1h');
    expect(first).toMatchObject({
      code: EXIT.OK,
      stdout: containing(`its proof of origin: producer keyring ${producerKeys}`),
    });
    expect(first.stdout).toContain('first use, recorded in');
    expect((await cli(...args)).stdout).toContain('the tree recorded in');
    expect(await cli(...args, '--max-age', '10')).toMatchObject({
      code: EXIT.FINDING,
      stdout: containing('[VERIFY.STALE_CHECKPOINT]'),
    });

    const forged = reseal(ledger, (c) => (c.index === 9 ? { ...c, event: { ...c.event, data: { serial: 'X' } } } : c));
    const changed = await cli(
      'inclusion',
      '--bundle',
      await bundleOf(forged, 'inclusion-forged.json'),
      '--event',
      'evt-9',
      '--keyring',
      keyring,
      '--producer-keys',
      producerKeys,
    );
    expect(changed).toMatchObject({ code: EXIT.FINDING, stdout: containing('[VERIFY.ORIGIN_NOT_IN_BATCH]') });
    expect(changed.stdout).toContain('FAIL event "evt-9": leaf 9: proof of origin fails');
    // The forged log at the same size: the state recorded from the sound one raises the alarm.
    const split = await cli(
      'inclusion',
      '--bundle',
      await bundleOf(forged, 'inclusion-forged.json'),
      '--event',
      'evt-3',
      '--keyring',
      keyring,
      '--state',
      state,
    );
    expect(split).toMatchObject({ code: EXIT.FINDING, stdout: containing('[VERIFY.ROOT_CHANGED]') });
  });
});

describe('splitViewAlarm', () => {
  it('is loud, names both checkpoints and carries both notes as evidence', () => {
    const alarm = splitViewAlarm({
      url: 'http://ledger',
      state: 'state.txt',
      reason: 'the tree shrank',
      code: 'VERIFY.TREE_SHRANK',
      previous: { origin: 'o', size: 30, root: 'R1' },
      latest: { origin: 'o', size: 20, root: 'R2' },
      previousNote: 'o\n30\nR1\n\n— o sig1\n',
      latestNote: 'o\n20\nR2\n\n— o sig2\n',
    });
    const lines = alarm.trimEnd().split('\n');
    expect(lines[1]).toBe('!!! SPLIT VIEW OR REWRITTEN HISTORY DETECTED');
    expect(alarm).toContain('recorded (state.txt): tree size 30, root R1 (o)');
    expect(alarm).toContain('presented now: tree size 20, root R2 (o)');
    expect(alarm).toContain('!!!     — o sig1');
    expect(alarm).toContain('!!!     — o sig2');
    expect(lines.length).toBeGreaterThan(10);
  });
});

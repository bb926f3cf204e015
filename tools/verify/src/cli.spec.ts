import { containing } from '../test/matchers';
import { EXIT, run, splitViewAlarm } from './cli';

async function cli(...argv: string[]) {
  const out = { stdout: '', stderr: '' };
  const code = await run(argv, {
    stdout: { write: (text: string) => void (out.stdout += text) },
    stderr: { write: (text: string) => void (out.stderr += text) },
  });
  return { code, ...out };
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
    [['chain', '--url', 'http://x', '--state', 's'], /chain does not take --state/],
    [['inclusion', '--url', 'http://x'], /--event <id> is required/],
    [['consistency', '--bundle', 'b.json', '--state', 's'], /consistency does not take --bundle/],
    [['export', '--url', 'http://x'], /--out <bundle.json> is required/],
    [['chain', '--url', 'http://x', 'extra'], /Unexpected argument 'extra'/],
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

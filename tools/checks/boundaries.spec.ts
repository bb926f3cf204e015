import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The architecture rules of STYLE.md are only real if they fail. Each fixture is a deliberate violation,
 * linted with the workspace ESLint config as if it were the file named on its `lint-as:` line; each must be
 * reported by @nx/enforce-module-boundaries with the message on its `expect:` line. A control (a legal
 * import) must pass, so the check cannot succeed by failing everything.
 */
const fixtureDir = join(__dirname, 'fixtures/boundaries');

function header(source: string, key: string): string {
  const match = new RegExp(`^// ${key}: (.+)$`, 'm').exec(source);
  if (!match?.[1]) throw new Error(`fixture lacks a "// ${key}:" line`);
  return match[1].trim();
}

const CONTROL = {
  id: 'control',
  source: "import { SERVICE_NAMES } from '@medledger/contracts';\n\nexport const names = SERVICE_NAMES;\n",
  lintAs: 'apps/records/src/__fixture__.ts',
};

describe('module boundaries', () => {
  const fixtures = readdirSync(fixtureDir)
    .filter((file) => file.endsWith('.ts'))
    .map((file) => {
      const source = readFileSync(join(fixtureDir, file), 'utf8');
      return { id: file, source, lintAs: header(source, 'lint-as'), expected: header(source, 'expect') };
    });
  let messages: Map<string, string[]>;

  beforeAll(() => {
    const input = JSON.stringify([...fixtures, CONTROL].map(({ id, source, lintAs }) => ({ id, source, lintAs })));
    const output = execFileSync(process.execPath, [join(__dirname, 'lint-as.mjs')], { input, encoding: 'utf8' });
    messages = new Map(
      (JSON.parse(output) as Array<{ id: string; messages: string[] }>).map((r) => [r.id, r.messages]),
    );
  });

  it('has a fixture for every rule of the drawing', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(6);
  });

  it.each(fixtures.map((f) => [f.id, f.expected]))('rejects %s', (id, expected) => {
    expect(messages.get(id)).toEqual(expect.arrayContaining([expect.stringContaining(expected)]));
  });

  it('accepts a legal import (control)', () => {
    expect(messages.get(CONTROL.id)).toEqual([]);
  });
});

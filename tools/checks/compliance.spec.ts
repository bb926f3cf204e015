import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * docs/compliance.md is evidence only while what it names exists: every clause of the list the product answers
 * for has a section, every section a status and (unless not met) tests, every test named is still in its file,
 * and the summary table says what the sections say.
 */
const root = join(__dirname, '../..');
const page = readFileSync(join(root, 'docs/compliance.md'), 'utf8');

/** The clauses issue 17 asks the matrix to cover; dropping one from the page fails. */
const CLAUSES = [
  'HIPAA 164.312(a)(1) access control',
  'HIPAA 164.312(b) audit controls',
  'HIPAA 164.312(c)(1) integrity',
  'HIPAA 164.312(d) person or entity authentication',
  'HIPAA 164.312(e)(1) transmission security',
  'HIPAA 164.526 amendment',
  'HIPAA 164.528 accounting of disclosures',
  'GDPR Art. 17 right to erasure',
  '21 CFR 11.10(b) accurate and complete copies',
  '21 CFR 11.10(e) audit trails',
  '21 CFR 11.10(f) operational checks (sequencing)',
  '21 CFR 11.10(g) authority checks',
  'DSCSA 582 product identifier verification',
  'DSCSA 582 suspect and illegitimate product',
  'EU FMD Art. 11 authenticity of the unique identifier',
  'EU FMD Art. 12 decommissioned unique identifiers',
  'EU FMD Art. 13 reverting a decommissioned status',
  'EU FMD Art. 25 verification and decommissioning at supply',
];
const STATUSES = ['met', 'partly met', 'not met'];

interface Clause {
  title: string;
  status: string | undefined;
  missing: boolean;
  tests: Array<{ file: string; title: string }>;
}

export function parseClauses(markdown: string): Clause[] {
  return markdown
    .split(/^### /m)
    .slice(1)
    .map((section) => {
      const [title = '', ...lines] = section.split('\n');
      const status = /^- Status: (.+)$/m.exec(section)?.[1]?.trim();
      const tests = lines
        .map((line) => /^\s+- `([^`]+)` › (.+)$/.exec(line))
        .filter((match): match is RegExpExecArray => match !== null)
        .map((match) => ({ file: match[1] ?? '', title: (match[2] ?? '').trim() }));
      return { title: title.trim(), status, missing: /^- Missing: /m.test(section), tests };
    });
}

function summary(markdown: string): Map<string, string> {
  const rows = new Map<string, string>();
  const table = markdown.split(/^## Summary$/m)[1]?.split(/^## /m)[0] ?? '';
  for (const line of table.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    if (cells.length < 4 || cells[1] === 'clause' || /^-+$/.test(cells[1] ?? '')) continue;
    rows.set(cells[1] ?? '', cells[2] ?? '');
  }
  return rows;
}

/** Every way the page can be untrue, one line each; none for a true page. */
export function problems(markdown: string): string[] {
  const clauses = parseClauses(markdown);
  const found: string[] = [];
  const titles = clauses.map((clause) => clause.title);
  for (const clause of CLAUSES) if (!titles.includes(clause)) found.push(`no section for ${clause}`);
  for (const title of titles) if (!CLAUSES.includes(title)) found.push(`a section for no listed clause: ${title}`);
  for (const clause of clauses) {
    if (!STATUSES.includes(clause.status ?? '')) found.push(`${clause.title}: no status`);
    if (clause.status !== 'met' && !clause.missing) found.push(`${clause.title}: ${clause.status} without "Missing:"`);
    if (clause.status !== 'not met' && clause.tests.length === 0) found.push(`${clause.title}: no test`);
    for (const { file, title } of clause.tests) {
      const path = join(root, file);
      const source = /\.(spec|int-spec|e2e-spec)\.ts$/.test(file) && existsSync(path) ? readFileSync(path, 'utf8') : '';
      if (![`'${title}'`, `"${title}"`, `\`${title}\``].some((quoted) => source.includes(quoted)))
        found.push(`${clause.title}: no test "${title}" in ${file}`);
    }
  }
  const table = summary(markdown);
  for (const clause of clauses)
    if (table.get(clause.title) !== clause.status)
      found.push(
        `${clause.title}: the summary says ${table.get(clause.title) ?? 'nothing'}, the section ${clause.status}`,
      );
  return found;
}

describe('docs/compliance.md', () => {
  it('covers every listed clause, each with a status and tests that still exist, and a summary in step', () => {
    expect(problems(page)).toEqual([]);
  });

  it('is caught out by a test that is gone, a clause without tests or status, and a summary out of step', () => {
    const gone = page.replace(
      '› chain: names the block of a leaf changed',
      '› chain: names the blok of a leaf changed',
    );
    expect(problems(gone)).toEqual([
      expect.stringContaining('HIPAA 164.312(c)(1) integrity: no test "chain: names the blok'),
    ]);
    const movedFile = page.replace('`apps/records/test/auth.e2e-spec.ts`', '`apps/records/test/authn.e2e-spec.ts`');
    expect(problems(movedFile)).toEqual([expect.stringContaining('no test "refuses %s with 401 problem+json"')]);
    const untested = page.replace(/(### GDPR Art\. 17 right to erasure[\s\S]*?)- Tests:[\s\S]*?(?=\n## )/, '$1');
    expect(problems(untested)).toEqual(['GDPR Art. 17 right to erasure: no test']);
    const overstated = page.replace(/(\| GDPR Art\. 17 right to erasure +\| )partly met/, '$1met');
    expect(problems(overstated)).toEqual([
      'GDPR Art. 17 right to erasure: the summary says met, the section partly met',
    ]);
    const dropped = page.replace('### EU FMD Art. 12', '### EU FMD Art. 12a');
    expect(problems(dropped)).toEqual([
      'no section for EU FMD Art. 12 decommissioned unique identifiers',
      'a section for no listed clause: EU FMD Art. 12a decommissioned unique identifiers',
      expect.stringContaining('EU FMD Art. 12a decommissioned unique identifiers: the summary says nothing'),
    ]);
  });
});

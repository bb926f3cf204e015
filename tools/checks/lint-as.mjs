// Lints source texts with the workspace ESLint config as if each were the file it names, with only the
// module-boundary rule on, and prints the messages as JSON. Run in its own process: ESLint loads its
// config with a dynamic import, which Jest's module sandbox does not allow.
// Input (stdin): [{ "id": string, "source": string, "lintAs": "apps/x/src/y.ts" }]
import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';

const root = resolve(import.meta.dirname, '../..');
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const inputs = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const eslint = new ESLint({
  cwd: root,
  // The fixture texts belong to no tsconfig, so type-aware parsing is off; only the rule under test runs.
  ruleFilter: ({ ruleId }) => ruleId === '@nx/enforce-module-boundaries',
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
});
const results = [];
for (const { id, source, lintAs } of inputs) {
  const [result] = await eslint.lintText(source, { filePath: join(root, lintAs) });
  results.push({ id, messages: (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parser'}: ${m.message}`) });
}
process.stdout.write(JSON.stringify(results));

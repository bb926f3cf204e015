import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '../..');

/**
 * Formats like `npm run format` would, so the committed file stays Prettier-clean. Through the CLI in a child
 * process: Prettier 3's API loads its core with a dynamic import, which Jest's CommonJS runtime cannot do.
 */
export function formatMarkdown(text: string, filepath: string): Promise<string> {
  const result = spawnSync(
    process.execPath,
    [require.resolve('prettier/bin/prettier.cjs'), '--stdin-filepath', filepath],
    {
      input: text,
      encoding: 'utf8',
      cwd: ROOT,
    },
  );
  if (result.status !== 0) return Promise.reject(new Error(`prettier failed: ${result.stderr}`));
  return Promise.resolve(result.stdout);
}

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { workspaceRoot } from './jest/env';

/** What one run of the verifier CLI printed, and its exit code. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `medledger-verify <args>` (tools/verify, as `npm run verify` does) from the workspace root. */
export function runVerifyCli(...args: string[]): Promise<CliRun> {
  const root = workspaceRoot();
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(root, 'node_modules/.bin/tsx'),
      ['--tsconfig', join(root, 'tsconfig.base.json'), join(root, 'tools/verify/src/main.ts'), ...args],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

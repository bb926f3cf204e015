import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { ServiceName } from '@medledger/contracts';

/** Applies every migration of a service's Prisma schema to the database at `databaseUrl`. */
export async function migrateServiceDatabase(
  rootDir: string,
  service: ServiceName,
  databaseUrl: string,
): Promise<void> {
  const args = [
    join(rootDir, 'tools/prisma/prisma.cjs'),
    'migrate',
    'deploy',
    '--config',
    join(rootDir, 'apps', service, 'prisma.config.ts'),
  ];
  const output: Buffer[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: rootDir,
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) {
    throw new Error(
      `prisma migrate deploy for ${service} failed (exit ${code}):\n${Buffer.concat(output).toString('utf8')}`,
    );
  }
}

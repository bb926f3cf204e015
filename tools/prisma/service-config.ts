import { defineConfig } from 'prisma/config';
import { migrationAdapter } from './migration-adapter';

/**
 * The Prisma CLI configuration of every service (apps/<service>/prisma.config.ts re-exports it): the Rust-free
 * engine with the CLI-only migration adapter; schema and migrations in the service's prisma/ folder.
 * Run the CLI through tools/prisma/prisma.cjs.
 */
export function servicePrismaConfig() {
  return defineConfig({
    experimental: { adapter: true },
    engine: 'js',
    adapter: async () => migrationAdapter(process.env['DATABASE_URL']),
    schema: 'prisma/schema.prisma',
    migrations: { path: 'prisma/migrations' },
  });
}

import { randomBytes } from 'node:crypto';
import type { Config } from 'jest';
import type { ServiceName } from '@medledger/contracts';
import { startInfrastructure } from '../infra/infrastructure';
import { migrateServiceDatabase } from '../infra/migrations';
import { databaseUrl, ensureDatabases } from '../infra/postgres';
import { TEST_ENV, templateDatabaseName, workspaceRoot } from './env';

interface ProjectConfig {
  globals: Record<string, unknown>;
}

/**
 * Once per integration-test run: bring up Kafka and PostgreSQL (see startInfrastructure) and build, from
 * zero, a migrated template database for the service under test; each suite then clones the template
 * (`createServiceDatabase`), which takes milliseconds instead of a migration run.
 */
export default async function globalSetup(_config: Config, project: ProjectConfig): Promise<void> {
  const rootDir = workspaceRoot();
  const infrastructure = await startInfrastructure({
    rootDir,
    log: (m) => process.stdout.write(`\n[test-infra] ${m}`),
  });
  (globalThis as { __medledgerInfrastructure?: typeof infrastructure }).__medledgerInfrastructure = infrastructure;
  (globalThis as { __medledgerTemplates?: string[] }).__medledgerTemplates = [];
  process.env[TEST_ENV.kafkaBrokers] = infrastructure.kafkaBrokers.join(',');
  process.env[TEST_ENV.postgresUrl] = infrastructure.postgresUrl;
  process.env[TEST_ENV.runId] = randomBytes(4).toString('hex');

  // Each project's jest.int.config names the services whose schemas its suites need.
  const configured = project.globals['MEDLEDGER_SERVICES'];
  const services = (Array.isArray(configured) ? configured : []).map(String) as ServiceName[];
  await Promise.all(
    services.map(async (service) => {
      const template = templateDatabaseName(service);
      (globalThis as { __medledgerTemplates?: string[] }).__medledgerTemplates?.push(template);
      await ensureDatabases(infrastructure.postgresUrl, [template]);
      await migrateServiceDatabase(rootDir, service, databaseUrl(infrastructure.postgresUrl, template));
    }),
  );
  process.stdout.write(
    `\n[test-infra] ${infrastructure.mode}: kafka ${infrastructure.kafkaBrokers.join(',')}, templates migrated for ${services.join(', ')}\n`,
  );
}

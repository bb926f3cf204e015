import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

// No path-alias imports in this file or in global setup/teardown: Jest loads those outside its module
// sandbox, where tsconfig paths (moduleNameMapper) do not apply. Type-only imports are fine (erased).

/** Variables global setup hands to the suites (Jest workers inherit the parent's environment). */
export const TEST_ENV = {
  kafkaBrokers: 'MEDLEDGER_TEST_KAFKA_BROKERS',
  postgresUrl: 'MEDLEDGER_TEST_POSTGRES_URL',
  /** Names this run's template databases, so concurrent runs (two checkouts, CI) never share one. */
  runId: 'MEDLEDGER_TEST_RUN_ID',
} as const;

export function workspaceRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'nx.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no nx.json above ${from}`);
    dir = parent;
  }
  return dir;
}

export function templateDatabaseName(service: string): string {
  const runId = process.env[TEST_ENV.runId];
  if (!runId) throw new Error(`${TEST_ENV.runId} is not set: run integration tests through their jest.int config`);
  return `medledger_${service}_tpl_${runId}`;
}

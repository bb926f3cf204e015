/** Integration tests: `*.int-spec.ts` and `*.e2e-spec.ts` against real Kafka and PostgreSQL. */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'trials:int',
  testMatch: ['<rootDir>/apps/trials/**/*.int-spec.ts', '<rootDir>/apps/trials/**/*.e2e-spec.ts'],
  globalSetup: '<rootDir>/libs/testing/src/jest/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/jest/global-teardown.ts',
  globals: { MEDLEDGER_SERVICES: ['trials', 'ledger'] },
  testTimeout: 60_000,
  passWithNoTests: true,
};

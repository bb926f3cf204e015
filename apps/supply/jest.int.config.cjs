/** Integration tests: `*.int-spec.ts` and `*.e2e-spec.ts` against real Kafka and PostgreSQL. */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'supply:int',
  testMatch: ['<rootDir>/apps/supply/**/*.int-spec.ts', '<rootDir>/apps/supply/**/*.e2e-spec.ts'],
  globalSetup: '<rootDir>/libs/testing/src/jest/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/jest/global-teardown.ts',
  globals: { MEDLEDGER_SERVICES: ['supply', 'ledger'] },
  testTimeout: 60_000,
  passWithNoTests: true,
};

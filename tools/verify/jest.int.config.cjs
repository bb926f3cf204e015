/** The CLI against the built ledger on real Kafka and PostgreSQL. */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'verify:int',
  testMatch: ['<rootDir>/tools/verify/**/*.int-spec.ts'],
  globalSetup: '<rootDir>/libs/testing/src/jest/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/jest/global-teardown.ts',
  globals: { MEDLEDGER_SERVICES: ['ledger'] },
  testTimeout: 180_000,
};

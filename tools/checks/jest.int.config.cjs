/** Workspace-level integration checks: services started as real processes. */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'checks:int',
  testMatch: ['<rootDir>/tools/checks/**/*.int-spec.ts'],
  globalSetup: '<rootDir>/libs/testing/src/jest/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/jest/global-teardown.ts',
  globals: { MEDLEDGER_SERVICES: ['supply'] },
  testTimeout: 60_000,
};

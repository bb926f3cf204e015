/** Pure tests: `*.spec.ts`, no I/O (in-memory ledgers built with ledger-core). */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'verify',
  testMatch: ['<rootDir>/tools/verify/**/*.spec.ts'],
};

/** Pure tests: `*.spec.ts`, no I/O. */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'ledger-core',
  testMatch: ['<rootDir>/libs/ledger-core/**/*.spec.ts'],
  passWithNoTests: true,
};

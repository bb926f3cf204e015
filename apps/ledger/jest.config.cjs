/** Pure tests: `*.spec.ts`, no I/O. */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'ledger',
  testMatch: ['<rootDir>/apps/ledger/**/*.spec.ts'],
  passWithNoTests: true,
};

/** Pure tests: `*.spec.ts`, no I/O. */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'records',
  testMatch: ['<rootDir>/apps/records/**/*.spec.ts'],
  passWithNoTests: true,
};

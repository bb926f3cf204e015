/** Pure tests: `*.spec.ts`, no I/O. */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'platform',
  testMatch: ['<rootDir>/libs/platform/**/*.spec.ts'],
  passWithNoTests: true,
};

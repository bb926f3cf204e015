/** Pure tests: `*.spec.ts`, no I/O. */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'testing',
  testMatch: ['<rootDir>/libs/testing/**/*.spec.ts'],
  passWithNoTests: true,
};

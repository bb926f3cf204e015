/** Pure tests: `*.spec.ts`, no I/O. */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'compensation',
  testMatch: ['<rootDir>/libs/compensation/**/*.spec.ts'],
  passWithNoTests: true,
};

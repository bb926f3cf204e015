/** Pure tests: `*.spec.ts`, no I/O. */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'contracts',
  testMatch: ['<rootDir>/libs/contracts/**/*.spec.ts'],
  passWithNoTests: true,
};

/** Pure tests: `*.spec.ts`, no I/O. */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'trials',
  testMatch: ['<rootDir>/apps/trials/**/*.spec.ts'],
  passWithNoTests: true,
};

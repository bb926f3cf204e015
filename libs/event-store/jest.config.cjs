/** Pure tests: `*.spec.ts`, no I/O. */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'event-store',
  testMatch: ['<rootDir>/libs/event-store/**/*.spec.ts'],
  passWithNoTests: true,
};

/** Pure tests: `*.spec.ts`, no I/O. */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'supply',
  testMatch: ['<rootDir>/apps/supply/**/*.spec.ts'],
  passWithNoTests: true,
};

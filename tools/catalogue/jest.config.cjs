/** The catalogue checks: docs/events.md is current, kept examples still parse (reads repository files only). */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'catalogue',
  testMatch: ['<rootDir>/tools/catalogue/**/*.spec.ts'],
};

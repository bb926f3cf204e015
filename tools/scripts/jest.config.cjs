/** The stack's own pieces, with real child processes (no services, no Kafka). */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'scripts',
  testMatch: ['<rootDir>/tools/scripts/**/*.spec.ts'],
};

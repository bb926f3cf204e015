/** Workspace rules: module boundaries (deliberate violations must fail lint). */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'checks',
  testMatch: ['<rootDir>/tools/checks/**/*.spec.ts'],
  testTimeout: 60_000,
};

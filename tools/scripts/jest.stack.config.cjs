/**
 * `npm start` itself, as a terminal runs it: the whole stack in its own process group, a service killed with
 * kill -9, then Ctrl-C. Run by `npm test` after every other suite, once the shared broker is stopped, because it
 * starts the stack's own broker on the default port.
 */
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'stack',
  testMatch: ['<rootDir>/tools/scripts/**/*.stack-spec.ts'],
  testTimeout: 600_000,
};

// Shared Jest settings for every project: @swc/jest (≈2× faster than ts-jest on Nest code) with the
// decorator metadata Nest's injector needs, and the tsconfig path aliases mapped to source.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const root = __dirname;
const { compilerOptions } = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8'));
const moduleNameMapper = {
  ...Object.fromEntries(
    Object.entries(compilerOptions.paths).map(([alias, [target]]) => [`^${alias}$`, join(root, target)]),
  ),
  // The generated Prisma clients import their siblings as './x.js' (importFileExtension = "js"); the
  // sources are './x.ts'.
  '^(\\.{1,2}/.*)\\.js$': '$1',
};

module.exports = {
  testEnvironment: 'node',
  rootDir: root,
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper,
  transform: {
    '^.+\\.[tj]s$': [
      '@swc/jest',
      {
        jsc: {
          target: 'es2022',
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          keepClassNames: true,
        },
        module: { type: 'commonjs' },
        sourceMaps: 'inline',
      },
    ],
  },
  // The generated Prisma client is CommonJS already; everything in node_modules is left alone.
  transformIgnorePatterns: ['/node_modules/'],
  // Build output and Nx's cache hold copies of package.json files that would collide in Jest's haste map.
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.nx/', '<rootDir>/.data/'],
};

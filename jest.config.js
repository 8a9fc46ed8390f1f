/**
 * NestJS 12 packages are ESM-only: on Node 20 jest runs in its ESM mode
 * (node --experimental-vm-modules, see the npm test script) with ts-jest
 * transpiling only (isolatedModules); `npm run typecheck` checks types.
 * @type {import('jest').Config}
 */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
    // CommonJS packages that require() ESM-only Nest: see test/jest/cjs-nest-transform.cjs.
    '^.+/node_modules/@nestjs/throttler/.+\\.js$': '<rootDir>/test/jest/cjs-nest-transform.cjs',
  },
  transformIgnorePatterns: ['/node_modules/(?!@nestjs/throttler/)'],
  setupFiles: ['<rootDir>/test/jest/preload-nest.ts', '<rootDir>/test/jest/quiet-logger.ts'],
  maxWorkers: 2,
  testTimeout: 60_000,
};

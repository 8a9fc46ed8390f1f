import base from './jest.config.js';

/**
 * `npm run test:scale`: several instances behind HAProxy with a streaming
 * replica (issue 13, "Proof"). PostgreSQL clusters of its own (a primary and a
 * pg_basebackup standby), Redis database 9, three built servers
 * (dist-test/src/main.js) and HAProxy (Debian's package) with
 * deploy/haproxy.cfg. Only *.scale.ts files, which `npm test` never picks up.
 * SCALE_SIZE=ci: shorter loads; the full size otherwise.
 * @type {import('jest').Config}
 */
export default {
  ...base,
  testMatch: ['<rootDir>/test/scale/**/*.scale.ts'],
  globalSetup: '<rootDir>/test/faults/global-setup.ts',
  maxWorkers: 1,
  testTimeout: 300_000,
};

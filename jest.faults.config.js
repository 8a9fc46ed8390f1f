import base from './jest.config.js';

/**
 * `npm run test:faults`: the fault and load suite of test/faults (issue 5,
 * "Proof under faults and load"). PostgreSQL only: each file starts a
 * PostgreSQL cluster of its own and runs the built server (dist-test/src/main.js)
 * as a child process against it. The same ESM/ts-jest setup (transform,
 * setupFiles) as jest.config.js; only *.faults.ts files, which `npm test`
 * (testMatch *.spec.ts) never picks up. Run it --runInBand: the scenarios
 * measure time, and two at once would share two cores.
 * FAULTS_SIZE=ci: fewer rounds and shorter load; the full size otherwise.
 * @type {import('jest').Config}
 */
export default {
  ...base,
  testMatch: ['<rootDir>/test/faults/**/*.faults.ts'],
  // Builds the server into dist-test/ when it is missing or older than its sources.
  globalSetup: '<rootDir>/test/faults/global-setup.ts',
  maxWorkers: 1,
  // Each test sets its own timeout, sized by FAULTS_SIZE.
  testTimeout: 300_000,
};

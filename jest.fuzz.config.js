import base from './jest.config.js';

/**
 * `npm run test:fuzz`: the property-based suite of test/fuzz (issue 5, "Proof
 * under hostile input"). The same ESM/ts-jest setup as jest.config.js; only
 * *.fuzz.ts files, which `npm test` (testMatch *.spec.ts) never picks up.
 * Sizes: FUZZ_REQUESTS (default 10000), FUZZ_SEED and FUZZ_PATH to replay.
 * @type {import('jest').Config}
 */
export default {
  ...base,
  testMatch: ['<rootDir>/test/fuzz/**/*.fuzz.ts'],
  // Each file sets its own per-test timeouts, sized by FUZZ_REQUESTS.
  testTimeout: 120_000,
};

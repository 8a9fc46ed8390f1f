import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PasswordHasher } from '../src/auth/password-hasher.js';
import { SearchGate } from '../src/common/search-gate.js';
import { createTestApp, type TestApp } from './utils/app.js';

/**
 * Configured bounds reach the services that enforce them, in the app as main.ts
 * builds it. A constructor typed with a Pick<> of AppConfig once got nothing
 * injected, so PASSWORD_HASH_CONCURRENCY and PASSWORD_HASH_PER_ACCOUNT were
 * silently replaced by their defaults.
 */
describe('configured bounds reach their services', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      PASSWORD_HASH_CONCURRENCY: '1',
      PASSWORD_HASH_PER_ACCOUNT: '7',
      SEARCH_CONCURRENCY_PER_USER: '3',
      DB_POOL_SIZE: '8',
      SEARCH_CONCURRENCY_TOTAL: '5',
      SEARCH_QUEUE_WAIT_MS: '750',
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the password hasher runs as many hashes as configured, and lets one account hold as many', () => {
    const hasher = t.app.get(PasswordHasher);
    expect(hasher.concurrency).toBe(1);
    expect(hasher.perAccount).toBe(7);
  });

  it('the search gate bounds searches per user and in all, and their wait, as configured', () => {
    expect(t.app.get(SearchGate).limits).toEqual({ perUser: 3, total: 5, queueWaitMs: 750 });
  });
});

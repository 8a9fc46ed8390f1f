import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Test, type TestingModule } from '@nestjs/testing';
import { availableParallelism } from 'node:os';
import { HttpStatus, ServiceUnavailableException } from '@nestjs/common';
import { TooManyRequestsException } from '../throttling/rate-limits.js';
import type { AppConfig } from '../config/app-config.js';
import { Semaphore } from '../common/semaphore.js';
import { MAX_IN_FLIGHT_PER_KEY, PasswordHasher } from './password-hasher.js';

const PASSWORD = 'Quiet-Harbour-Lantern-42';
/** Whose hashing budget (the tests' one account). */
const KEY = 'user:spec';
/** OWASP's argon2id: 19 MiB, 2 iterations, 1 lane; then a 16-byte salt and a 32-byte hash, unpadded base64. */
const OWASP_ARGON2ID = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;

/** The hasher's private dummy hash: read through a cast, as nothing outside the class should. */
const dummyHashOf = (hasher: PasswordHasher) => (hasher as any).dummyHash as string | undefined;

// The real @node-rs/argon2: these specs are about the parameters and the failure modes of the library itself.
describe(PasswordHasher.name, () => {
  let moduleRef: TestingModule;
  let hasher: PasswordHasher;
  let stored: string;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({ providers: [PasswordHasher] }).compile();
    // init() runs onModuleInit, as the application does at startup.
    await moduleRef.init();
    hasher = moduleRef.get(PasswordHasher);
    stored = await hasher.hash(PASSWORD, KEY);
  });
  afterAll(async () => {
    await moduleRef.close();
  });

  describe('hash', () => {
    it('is argon2id with OWASP parameters', () => {
      expect(stored.startsWith('$argon2id$v=19$m=19456,t=2,p=1$')).toBe(true);
      expect(stored).toMatch(OWASP_ARGON2ID);
    });

    it('salts every hash: the same password never hashes the same twice', async () => {
      const again = await hasher.hash(PASSWORD, KEY);
      expect(again).toMatch(OWASP_ARGON2ID);
      expect(again).not.toBe(stored);
    });
  });

  describe('verify', () => {
    it('true for the right password', async () => {
      await expect(hasher.verify(stored, PASSWORD, KEY)).resolves.toBe(true);
    });

    it('false for a wrong password, including one differing only in case', async () => {
      await expect(hasher.verify(stored, 'wrong-password', KEY)).resolves.toBe(false);
      await expect(hasher.verify(stored, PASSWORD.toUpperCase(), KEY)).resolves.toBe(false);
    });

    it.each([
      ['empty', ''],
      ['not a PHC string', 'not-a-hash'],
      ['truncated', '$argon2id$v=19$m=19456,t=2,p=1$garbage'],
      ['another scheme', '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW'],
    ])('false, not a throw, for a malformed stored hash (%s)', async (_label, malformed) => {
      await expect(hasher.verify(malformed, PASSWORD, KEY)).resolves.toBe(false);
    });
  });

  describe('verify with no stored hash (a login naming no user)', () => {
    it('onModuleInit prepared a real argon2id dummy hash', () => {
      expect(dummyHashOf(hasher)).toMatch(OWASP_ARGON2ID);
    });

    it('is false, and verifies against the dummy hash rather than skipping the work', async () => {
      const dummy = dummyHashOf(hasher)!;
      let reads = 0;
      // An own accessor shadows the field on this instance only: counts the reads, keeps the value.
      Object.defineProperty(hasher, 'dummyHash', {
        configurable: true,
        get: () => {
          reads += 1;
          return dummy;
        },
      });
      try {
        await expect(hasher.verify(undefined, PASSWORD, KEY)).resolves.toBe(false);
        expect(reads).toBeGreaterThan(0);
      } finally {
        Object.defineProperty(hasher, 'dummyHash', { configurable: true, writable: true, value: dummy });
      }
      expect(dummyHashOf(hasher)).toBe(dummy);
    });

    it('is false even for the password the dummy hash was made from', async () => {
      const dummy = dummyHashOf(hasher);
      (hasher as any).dummyHash = stored;
      try {
        await expect(hasher.verify(undefined, PASSWORD, KEY)).resolves.toBe(false);
      } finally {
        (hasher as any).dummyHash = dummy;
      }
    });

    it('makes the dummy hash on first use when onModuleInit has not run', async () => {
      const fresh = new PasswordHasher();
      expect(dummyHashOf(fresh)).toBeUndefined();
      await expect(fresh.verify(undefined, PASSWORD, KEY)).resolves.toBe(false);
      expect(dummyHashOf(fresh)).toMatch(OWASP_ARGON2ID);
    });
  });
});

/** The auth namespace with only the hashing settings given (PASSWORD_HASH_PER_ACCOUNT unset unless given). */
function hashing(auth: Partial<AppConfig['auth']>): Pick<AppConfig, 'auth'> {
  return { auth: auth as AppConfig['auth'] };
}

describe('PasswordHasher concurrency', () => {
  it('PASSWORD_HASH_CONCURRENCY sets how many hashes run at once; unset, one fewer than the cores and than libuv’s threads (at least 1)', () => {
    const configured = new PasswordHasher(hashing({ passwordHashConcurrency: 3 }));
    expect(configured.concurrency).toBe(3);
    const unset = new PasswordHasher(hashing({ passwordHashConcurrency: undefined }));
    expect(unset.concurrency).toBe(Math.max(1, Math.min(availableParallelism() - 1, (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 1)));
  });

  it('beyond the waiting limit, a hash is refused with 503 and Retry-After, never read as a wrong password', async () => {
    const hasher = new PasswordHasher(hashing({ passwordHashConcurrency: 1 }));
    (hasher as unknown as { gate: Semaphore }).gate = new Semaphore(1, 0);
    const stored = await hasher.hash(PASSWORD, KEY);
    // Two accounts: one account's second hash would wait in its own line, not reach the gate.
    const running = hasher.verify(stored, PASSWORD, 'user:a');
    const refused = await hasher.verify(stored, PASSWORD, 'user:b').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ServiceUnavailableException);
    expect((refused as ServiceUnavailableException).getResponse()).toMatchObject({ retryAfter: 1 });
    await expect(running).resolves.toBe(true);
  });
});


describe('PasswordHasher fairness between keys', () => {
  /** A gate whose tasks finish only when told: what runs and what waits is then plain to see. */
  function heldHasher(limit: number) {
    // PASSWORD_HASH_PER_ACCOUNT unset: its default, MAX_IN_FLIGHT_PER_KEY.
    const hasher = new PasswordHasher(hashing({ passwordHashConcurrency: limit }));
    const gate = new Semaphore(limit, 128);
    (hasher as unknown as { gate: Semaphore }).gate = gate;
    return { hasher, gate };
  }

  it('one key runs one hash at a time, and past MAX_IN_FLIGHT_PER_KEY in flight it is refused with 429', async () => {
    const { hasher, gate } = heldHasher(2);
    const stored = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG';
    const mine = Array.from({ length: MAX_IN_FLIGHT_PER_KEY }, () => hasher.verify(stored, PASSWORD, 'user:greedy'));
    const refused = await hasher.verify(stored, PASSWORD, 'user:greedy').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TooManyRequestsException);
    expect((refused as TooManyRequestsException).getStatus()).toBe(HttpStatus.TOO_MANY_REQUESTS);
    expect((refused as TooManyRequestsException).getResponse()).toMatchObject({ retryAfter: 1 });
    // Of the greedy key's hashes, one holds a slot; the other slot is free for anyone else.
    await new Promise((resolve) => setImmediate(resolve));
    expect(gate.load.active).toBeLessThanOrEqual(1);
    await expect(hasher.verify(stored, PASSWORD, 'user:other')).resolves.toBe(false);
    await expect(Promise.all(mine)).resolves.toEqual(mine.map(() => false));
    // Its line is empty again: the key may hash once more.
    await expect(hasher.verify(stored, PASSWORD, 'user:greedy')).resolves.toBe(false);
  });
});

import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { getStorageToken, type ThrottlerStorage } from '@nestjs/throttler';
import { isRefusal } from '../common/refusal.js';
import { ANON_REFUSAL_DELAY_MS, AnonymousRateLimiter, MAX_HELD_REFUSALS } from './anonymous-rate-limiter.js';
import { TooManyRequestsException } from './rate-limits.js';

/** A storage that blocks once `limit` hits were counted for a key, as the ThrottlerModule's does. */
function fakeStorage() {
  const hits = new Map<string, number>();
  const storage = {
    increment: jest.fn(async (key: string, _ttl: number, limit: number) => {
      const n = (hits.get(key) ?? 0) + 1;
      hits.set(key, n);
      return { totalHits: n, timeToExpire: 60, isBlocked: n > limit, timeToBlockExpire: n > limit ? 60 : 0 };
    }),
  };
  return storage as unknown as ThrottlerStorage & { increment: jest.Mock };
}

/** Settles after pending microtasks; whether `promise` settled by then. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 20; i++) await Promise.resolve();
  return done;
}

describe(AnonymousRateLimiter.name, () => {
  let limiter: AnonymousRateLimiter;
  let storage: ReturnType<typeof fakeStorage>;

  async function build(settings: Record<string, unknown>) {
    storage = fakeStorage();
    const moduleRef = await Test.createTestingModule({
      providers: [
        AnonymousRateLimiter,
        { provide: getStorageToken(), useValue: storage },
        { provide: ConfigService, useValue: { getOrThrow: (key: string) => settings[key] } },
      ],
    }).compile();
    limiter = moduleRef.get(AnonymousRateLimiter);
  }

  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('lets requests within the budget through at once', async () => {
    await build({ THROTTLE_ENABLED: true, ANON_RATE_LIMIT: 2 });
    await expect(limiter.charge({ ip: '198.51.100.1' })).resolves.toBeUndefined();
    await expect(limiter.charge({ ip: '198.51.100.1' })).resolves.toBeUndefined();
    expect(storage.increment).toHaveBeenCalledTimes(2);
  });

  it('holds a request past the budget for ANON_REFUSAL_DELAY_MS, then refuses it with a 429 marked rate_limited', async () => {
    await build({ THROTTLE_ENABLED: true, ANON_RATE_LIMIT: 1 });
    await limiter.charge({ ip: '198.51.100.2' });
    const refused = limiter.charge({ ip: '198.51.100.2' });
    const outcome = refused.catch((error: unknown) => error);
    expect(await settled(refused)).toBe(false);
    jest.advanceTimersByTime(ANON_REFUSAL_DELAY_MS - 1);
    expect(await settled(refused)).toBe(false);
    jest.advanceTimersByTime(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(TooManyRequestsException);
    expect(isRefusal(error) && error.refusalReason).toBe('rate_limited');
  });

  it('another address keeps its own budget while one is held', async () => {
    await build({ THROTTLE_ENABLED: true, ANON_RATE_LIMIT: 1 });
    await limiter.charge({ ip: '198.51.100.3' });
    const held = limiter.charge({ ip: '198.51.100.3' }).catch((error: unknown) => error);
    await expect(limiter.charge({ ip: '198.51.100.4' })).resolves.toBeUndefined();
    for (let i = 0; i < 20; i++) await Promise.resolve();
    jest.advanceTimersByTime(ANON_REFUSAL_DELAY_MS);
    expect(await held).toBeInstanceOf(TooManyRequestsException);
  });

  it(`holds at most ${MAX_HELD_REFUSALS} refusals at once; the next is answered at once, and the slots free up after the delay`, async () => {
    await build({ THROTTLE_ENABLED: true, ANON_RATE_LIMIT: 0 });
    const held = Array.from({ length: MAX_HELD_REFUSALS }, () => limiter.charge({ ip: '198.51.100.5' }).catch((error: unknown) => error));
    for (let i = 0; i < 20; i++) await Promise.resolve();
    const overflow = limiter.charge({ ip: '198.51.100.5' });
    expect(await settled(overflow)).toBe(true);
    await expect(overflow).rejects.toBeInstanceOf(TooManyRequestsException);
    jest.advanceTimersByTime(ANON_REFUSAL_DELAY_MS);
    expect((await Promise.all(held)).every((e) => e instanceof TooManyRequestsException)).toBe(true);
    // Freed: the next refusal is held again.
    const again = limiter.charge({ ip: '198.51.100.5' });
    expect(await settled(again)).toBe(false);
    jest.advanceTimersByTime(ANON_REFUSAL_DELAY_MS);
    await expect(again).rejects.toBeInstanceOf(TooManyRequestsException);
  });

  it('counts nothing when throttling is off', async () => {
    await build({ THROTTLE_ENABLED: false, ANON_RATE_LIMIT: 0 });
    await expect(limiter.charge({ ip: '198.51.100.6' })).resolves.toBeUndefined();
    expect(storage.increment).not.toHaveBeenCalled();
  });
});

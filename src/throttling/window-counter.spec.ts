import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { estimate, MemoryWindowStorage, RedisWindowStorage, secondsUntilAllowed } from './window-counter.js';

const MINUTE = 60_000;

/** A clock the test moves: starts at the beginning of a window. */
function clock(start = 1_000 * MINUTE) {
  let time = start;
  return { now: () => time, advance: (ms: number) => (time += ms) };
}

describe('sliding-window counter', () => {
  it('estimates the last window from the current count and the previous one, weighted by what is left of it', () => {
    expect(estimate({ previous: 10, current: 3, elapsed: 0 })).toBe(13);
    expect(estimate({ previous: 10, current: 3, elapsed: 0.25 })).toBe(10.5);
    expect(estimate({ previous: 10, current: 3, elapsed: 1 })).toBe(3);
  });

  it('says when a refused key is allowed again: as the previous window fades, or into the next window', () => {
    // 4 of 5 now, 10 in the previous window at 50%: 10 * (1 - f) + 4 < 5 once f > 0.9, so 0.4 of a minute on.
    expect(secondsUntilAllowed({ previous: 10, current: 4, elapsed: 0.5 }, 5, MINUTE)).toBe(24);
    // The window alone at the limit, 25% in: 45 s to its end, then immediately below in the next.
    expect(secondsUntilAllowed({ previous: 0, current: 5, elapsed: 0.25 }, 5, MINUTE)).toBe(45);
    expect(secondsUntilAllowed({ previous: 0, current: 5, elapsed: 0.999999 }, 5, MINUTE)).toBe(1);
  });
});

describe(MemoryWindowStorage.name, () => {
  it('lets `limit` hits through in a window, refuses the next without counting it, with a Retry-After to the window’s end', async () => {
    const c = clock();
    const store = new MemoryWindowStorage(c.now);
    for (let i = 1; i <= 5; i++) expect(await store.increment('k', MINUTE, 5)).toMatchObject({ isBlocked: false, totalHits: i });
    c.advance(15_000);
    const refused = await store.increment('k', MINUTE, 5);
    expect(refused).toMatchObject({ isBlocked: true, totalHits: 6, timeToBlockExpire: 45 });
    // Refusals are not counted: in the next window the five still weigh, fading.
    c.advance(45_000);
    expect(await store.increment('k', MINUTE, 5)).toMatchObject({ isBlocked: true });
    c.advance(15_000);
    // 5 * 0.75 = 3.75 plus one more is within 5.
    expect(await store.increment('k', MINUTE, 5)).toMatchObject({ isBlocked: false });
    store.onApplicationShutdown();
  });

  it('does not let a burst at a window’s boundary through twice (the fixed window’s flaw)', async () => {
    const c = clock();
    const store = new MemoryWindowStorage(c.now);
    c.advance(MINUTE - 1_000);
    for (let i = 0; i < 10; i++) expect((await store.increment('k', MINUTE, 10)).isBlocked).toBe(false);
    c.advance(2_000);
    // One second into the next window, the previous ten weigh almost fully.
    expect((await store.increment('k', MINUTE, 10)).isBlocked).toBe(true);
    store.onApplicationShutdown();
  });

  it('keeps one small record per key whatever the traffic, and drops keys idle for two windows', async () => {
    const c = clock();
    const store = new MemoryWindowStorage(c.now);
    for (let i = 0; i < 10_000; i++) await store.increment('busy', MINUTE, 1_000_000);
    await store.increment('idle', MINUTE, 10);
    expect(store.size).toBe(2);
    c.advance(MINUTE);
    await store.increment('busy', MINUTE, 1_000_000);
    store.sweep();
    expect(store.size).toBe(2);
    c.advance(MINUTE);
    await store.increment('busy', MINUTE, 1_000_000);
    store.sweep();
    expect(store.size).toBe(1);
    store.onApplicationShutdown();
  });

  it('counts each key and each window length apart', async () => {
    const store = new MemoryWindowStorage(clock().now);
    expect((await store.increment('a', MINUTE, 1)).isBlocked).toBe(false);
    expect((await store.increment('a', MINUTE, 1)).isBlocked).toBe(true);
    expect((await store.increment('b', MINUTE, 1)).isBlocked).toBe(false);
    expect((await store.increment('a', 2 * MINUTE, 1)).isBlocked).toBe(false);
    store.onApplicationShutdown();
  });
});

// The same counter in Redis (the one the CI machine and .ci/run start; TEST_REDIS_URL elsewhere).
describe(RedisWindowStorage.name, () => {
  let redis: Redis;
  let reachable = false;

  beforeAll(async () => {
    redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0', { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
    reachable = await redis.connect().then(
      () => true,
      () => false,
    );
  });
  afterAll(() => redis.disconnect());

  it('counts atomically across callers: of 50 hits at once with a limit of 20, exactly 20 pass; the keys expire by themselves', async () => {
    if (!reachable) {
      // No Redis on this machine (a fresh clone): the in-memory counter above is the one in use here.
      expect(process.env.CI).not.toBe('true');
      return;
    }
    const c = clock();
    const a = new RedisWindowStorage(redis, c.now);
    const b = new RedisWindowStorage(redis, c.now);
    const key = `test:${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).increment(key, MINUTE, 20)));
    expect(results.filter((r) => !r.isBlocked)).toHaveLength(20);
    expect(results.filter((r) => r.isBlocked).every((r) => r.timeToBlockExpire === 60)).toBe(true);
    const keys = await redis.keys(`throttle:{${key}}:*`);
    expect(keys).toHaveLength(1);
    expect(await redis.pttl(keys[0])).toBeGreaterThan(MINUTE);
    expect(await redis.pttl(keys[0])).toBeLessThanOrEqual(2 * MINUTE);
    // Half a window later, the previous window's 20 weigh 10: ten more pass.
    c.advance(MINUTE + MINUTE / 2);
    const later = await Promise.all(Array.from({ length: 15 }, () => a.increment(key, MINUTE, 20)));
    expect(later.filter((r) => !r.isBlocked)).toHaveLength(10);
  });
});

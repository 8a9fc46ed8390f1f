import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Redis } from 'ioredis';

/** What @nestjs/throttler's guard reads back from a store. */
export interface ThrottlerRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/** The two windows' counts a key has at one moment, and where in the current window the moment is (0 to 1). */
export interface WindowCounts {
  previous: number;
  current: number;
  elapsed: number;
}

/**
 * A sliding-window counter (as Cloudflare's and Redis's own rate-limit
 * guides describe it): the hits of the current fixed window plus the
 * previous window's, weighted by how much of it still lies within the last
 * `ttl`. Two integers per key, whatever the traffic: the cost of a request
 * does not grow with the number of hits (the stock in-memory store kept and
 * filtered a timestamp per hit). A request is let through, and counted, while
 * the estimate stays below the limit; a refused one is not counted.
 */
export function estimate({ previous, current, elapsed }: WindowCounts): number {
  return previous * (1 - elapsed) + current;
}

/**
 * Seconds (at least 1) until a refused key's estimate drops below the limit
 * again, if it sends nothing meanwhile: within this window, as the previous
 * window's weight fades; or, when this window alone has reached the limit,
 * into the next one, as this window's weight fades there.
 */
export function secondsUntilAllowed({ previous, current, elapsed }: WindowCounts, limit: number, windowMs: number): number {
  let waitMs: number;
  if (current >= limit) {
    // Next window: current * (1 - f) < limit once f > 1 - limit / current.
    waitMs = (1 - elapsed) * windowMs + Math.max(0, 1 - limit / current) * windowMs;
  } else {
    // This window: previous * (1 - f) + current < limit once f > 1 - (limit - current) / previous.
    const f = previous > 0 ? 1 - (limit - current) / previous : elapsed;
    waitMs = Math.max(0, f - elapsed) * windowMs;
  }
  return Math.max(1, Math.ceil(waitMs / 1000));
}

function recordOf(counts: WindowCounts, limit: number, windowMs: number, counted: boolean): ThrottlerRecord {
  const timeToExpire = Math.max(1, Math.ceil(((1 - counts.elapsed) * windowMs) / 1000));
  return {
    totalHits: Math.ceil(estimate(counts)) + (counted ? 0 : 1),
    timeToExpire,
    isBlocked: !counted,
    timeToBlockExpire: counted ? 0 : secondsUntilAllowed(counts, limit, windowMs),
  };
}

interface Slot {
  /** The fixed window `current` counts: floor(time / windowMs). */
  window: number;
  current: number;
  previous: number;
}

/**
 * The sliding-window counter in this process's memory: one small record per
 * key, kept while it has counts in the last two windows (a sweep once a
 * minute drops the rest). Each instance counts alone: set REDIS_URL to share.
 */
export class MemoryWindowStorage implements ThrottlerStorage {
  private readonly slots = new Map<string, Slot>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  /** `ttl` is the window (ms); the block lasts as long as the estimate is at the limit, so `blockDuration` is not used. */
  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerRecord> {
    return this.hit(key, ttl, limit);
  }

  hit(key: string, windowMs: number, limit: number): ThrottlerRecord {
    const time = this.now();
    const window = Math.floor(time / windowMs);
    let slot = this.slots.get(`${key}|${windowMs}`);
    if (!slot) {
      slot = { window, current: 0, previous: 0 };
      this.slots.set(`${key}|${windowMs}`, slot);
    } else if (slot.window !== window) {
      slot.previous = slot.window === window - 1 ? slot.current : 0;
      slot.current = 0;
      slot.window = window;
    }
    const counts = { previous: slot.previous, current: slot.current, elapsed: (time % windowMs) / windowMs };
    const allowed = estimate(counts) + 1 <= limit;
    if (allowed) {
      slot.current += 1;
      counts.current += 1;
    }
    return recordOf(counts, limit, windowMs, allowed);
  }

  /** Keys whose counts are all older than the previous window carry nothing: dropped. */
  sweep(): void {
    const time = this.now();
    for (const [key, slot] of this.slots) {
      const windowMs = Number(key.slice(key.lastIndexOf('|') + 1));
      if (slot.window < Math.floor(time / windowMs) - 1) this.slots.delete(key);
    }
  }

  get size(): number {
    return this.slots.size;
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }
}

/**
 * One atomic step in Redis: read both windows' counts, and count the hit in
 * the current window only if the estimate allows it (the key expires two
 * windows on). Returns {previous, current after, allowed}.
 */
const HIT_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local limit = tonumber(ARGV[1])
local weight = tonumber(ARGV[2])
if previous * weight + current + 1 > limit then
  return {previous, current, 0}
end
current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {previous, current, 1}
`;

type WindowRedis = Redis & { throttleHit(current: string, previous: string, limit: number, weight: string, ttlMs: number): Promise<[number, number, number]> };

/**
 * The sliding-window counter in Redis, shared by every instance: one Lua
 * script per request (two GETs, at most one INCR), two integer keys per
 * tracker and window, expiring by themselves. The window is computed from
 * this instance's clock (instances' clocks agree within NTP's milliseconds).
 */
export class RedisWindowStorage implements ThrottlerStorage {
  private readonly redis: WindowRedis;

  constructor(
    redis: Redis,
    private readonly now: () => number = Date.now,
  ) {
    if (!('throttleHit' in redis)) redis.defineCommand('throttleHit', { numberOfKeys: 2, lua: HIT_SCRIPT });
    this.redis = redis as WindowRedis;
  }

  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerRecord> {
    const time = this.now();
    const window = Math.floor(time / ttl);
    const elapsed = (time % ttl) / ttl;
    const [previous, current, allowed] = await this.redis.throttleHit(
      `throttle:{${key}}:${ttl}:${window}`,
      `throttle:{${key}}:${ttl}:${window - 1}`,
      limit,
      (1 - elapsed).toFixed(6),
      2 * ttl,
    );
    return recordOf({ previous, current, elapsed }, limit, ttl, allowed === 1);
  }
}

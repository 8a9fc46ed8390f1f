import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import type { EnvironmentVariables } from '../config/env.validation.js';
import { REDIS, TooManyRequestsException } from './rate-limits.js';

const HOUR_MS = 3_600_000;
const INCREMENT_IN_WINDOW = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;
const MEMORY_MAX_KEYS = 100_000;

interface Window {
  name: 'short' | 'hour';
  limit: number;
  ms: number;
}

/**
 * Failed password checks per subject: LOGIN_FAILURE_LIMIT in
 * LOGIN_FAILURE_WINDOW, and LOGIN_FAILURE_HOURLY_LIMIT an hour. Past either,
 * the subject is locked (429) until that window ends: the lock lifts by
 * itself, and the right password works again after it. Only failures count,
 * and unknown usernames count like known ones, so a lock says nothing about
 * whether an account exists. Checked before any password hashing.
 *
 * The subject is the account (`user:<id>`) whenever the username resolves to
 * one, whichever spelling was typed, else the canonical username
 * (`name:<canonical>`): the caller decides (AuthService), and every check of
 * a password (login, password change, a second factor) counts against the
 * same subject, so one budget of guesses covers them all.
 *
 * Counters are fixed windows in Redis (shared by every instance) or in this
 * process's memory. If Redis is unreachable the check lets the attempt
 * through (logged): a rate limiter must not take the login down with it.
 */
@Injectable()
export class LoginLockoutService implements OnModuleDestroy {
  private readonly logger = new Logger(LoginLockoutService.name);
  private readonly windows: Window[];
  private readonly enabled: boolean;
  private readonly memory = new Map<string, { count: number; until: number }>();

  constructor(
    config: ConfigService<EnvironmentVariables, true>,
    @Inject(REDIS) private readonly redis: Redis | null,
  ) {
    this.enabled = config.getOrThrow('THROTTLE_ENABLED', { infer: true });
    this.windows = [
      {
        name: 'short',
        limit: config.getOrThrow('LOGIN_FAILURE_LIMIT', { infer: true }),
        ms: config.getOrThrow('LOGIN_FAILURE_WINDOW', { infer: true }) * 1000,
      },
      { name: 'hour', limit: config.getOrThrow('LOGIN_FAILURE_HOURLY_LIMIT', { infer: true }), ms: HOUR_MS },
    ];
  }

  /** Throws 429 (with Retry-After) while the subject is locked. */
  async assertNotLocked(subject: string): Promise<void> {
    if (!this.enabled) return;
    try {
      let wait = 0;
      for (const window of this.windows) {
        const { count, ttlMs } = await this.read(this.key(subject, window));
        if (count >= window.limit) wait = Math.max(wait, ttlMs);
      }
      if (wait > 0) {
        throw new TooManyRequestsException(
          'Too many failed password attempts for this account; try again later.',
          wait / 1000,
        );
      }
    } catch (error) {
      if (error instanceof TooManyRequestsException) throw error;
      this.logger.warn({ err: { message: (error as Error).message } }, 'login lockout check skipped: store unavailable');
    }
  }

  /** Counts one failed password check against the subject. */
  async recordFailure(subject: string): Promise<void> {
    if (!this.enabled) return;
    try {
      for (const window of this.windows) await this.increment(this.key(subject, window), window.ms);
    } catch (error) {
      this.logger.warn({ err: { message: (error as Error).message } }, 'failed login not counted: store unavailable');
    }
  }

  onModuleDestroy(): void {
    this.memory.clear();
  }

  /** Taken as given (the caller canonicalises); hashed so no username sits in Redis. */
  private key(subject: string, window: Window): string {
    const digest = createHash('sha256').update(subject).digest('base64url');
    return `hc:login-fail:${window.name}:${digest}`;
  }

  private async read(key: string): Promise<{ count: number; ttlMs: number }> {
    if (this.redis) {
      const [[, count], [, ttl]] = (await this.redis.multi().get(key).pttl(key).exec()) as [
        [unknown, string | null],
        [unknown, number],
      ];
      return { count: Number(count ?? 0), ttlMs: Math.max(ttl, 0) };
    }
    const entry = this.memory.get(key);
    const now = Date.now();
    if (!entry || entry.until <= now) return { count: 0, ttlMs: 0 };
    return { count: entry.count, ttlMs: entry.until - now };
  }

  private async increment(key: string, windowMs: number): Promise<void> {
    if (this.redis) {
      // The window starts at the first failure: later failures do not extend it.
      await this.redis.eval(INCREMENT_IN_WINDOW, 1, key, windowMs);
      return;
    }
    const now = Date.now();
    const entry = this.memory.get(key);
    if (entry && entry.until > now) {
      entry.count += 1;
      return;
    }
    if (this.memory.size >= MEMORY_MAX_KEYS) this.evictExpired(now);
    this.memory.set(key, { count: 1, until: now + windowMs });
  }

  private evictExpired(now: number): void {
    for (const [key, entry] of this.memory) if (entry.until <= now) this.memory.delete(key);
    // Still full: drop the oldest entries (Map keeps insertion order).
    for (const key of this.memory.keys()) {
      if (this.memory.size < MEMORY_MAX_KEYS) break;
      this.memory.delete(key);
    }
  }
}

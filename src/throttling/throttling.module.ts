import { type ExecutionContext, Global, Logger, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import { ThrottlerModule, type ThrottlerStorage } from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import type { AuthUser } from '../auth/current-user.decorator.js';
import type { EnvironmentVariables } from '../config/env.validation.js';
import { LoginLockoutService } from './login-lockout.service.js';
import { AnonymousRateLimiter } from './anonymous-rate-limiter.js';
import { AUTH_RATE_LIMITED, REDIS, throttleKey } from './rate-limits.js';
import { RedisModule } from './redis.module.js';
import { MemoryWindowStorage, RedisWindowStorage } from './window-counter.js';

const MINUTE_MS = 60_000;
const reflector = new Reflector();

const isAuthRoute = (context: ExecutionContext) =>
  reflector.getAllAndOverride<boolean>(AUTH_RATE_LIMITED, [context.getHandler(), context.getClass()]) === true;
const userOf = (context: ExecutionContext) => context.switchToHttp().getRequest<{ user?: AuthUser }>().user;

const sharedKey = (_context: ExecutionContext, tracker: string, name: string) => throttleKey(name, tracker);

/**
 * A limiter's store must not take the API down with it: when Redis is
 * unreachable a request is let through (and logged) instead of failing.
 */
class FailOpenStorage implements ThrottlerStorage {
  private readonly logger = new Logger('Throttling');
  constructor(private readonly inner: ThrottlerStorage) {}

  async increment(key: string, ttl: number, limit: number, blockDuration: number, name: string) {
    try {
      return await this.inner.increment(key, ttl, limit, blockDuration, name);
    } catch (error) {
      this.logger.warn({ err: { message: (error as Error).message } }, 'rate limit not checked: store unavailable');
      return { totalHits: 0, timeToExpire: 0, isBlocked: false, timeToBlockExpire: 0 };
    }
  }
}

/**
 * Rate limits (OWASP API4): per client IP on register, login and refresh,
 * per client IP on requests without a valid token (AnonymousRateLimiter,
 * before any token work), per user on everything else, and failed logins per
 * username (LoginLockoutService). Counters live in Redis when REDIS_URL is set, so
 * every instance shares them; in memory otherwise. Both are sliding-window
 * counters (window-counter.ts): two integers per key, one step per request.
 */
@Global()
@Module({
  imports: [
    RedisModule,
    ThrottlerModule.forRootAsync({
      imports: [RedisModule],
      inject: [ConfigService, REDIS],
      useFactory: (config: ConfigService<EnvironmentVariables, true>, redis: Redis | null) => {
        const enabled = config.getOrThrow('THROTTLE_ENABLED', { infer: true });
        return {
          throttlers: [
            {
              name: 'auth',
              ttl: MINUTE_MS,
              limit: config.getOrThrow('AUTH_RATE_LIMIT', { infer: true }),
              skipIf: (context) => !enabled || !isAuthRoute(context),
              // The client's address as Fastify sees it: X-Forwarded-For counts only through TRUST_PROXY.
              getTracker: (req) => String(req.ip),
            },
            {
              name: 'user',
              ttl: MINUTE_MS,
              limit: config.getOrThrow('USER_RATE_LIMIT', { infer: true }),
              skipIf: (context) => !enabled || isAuthRoute(context) || !userOf(context),
              getTracker: (_req, context) => userOf(context)?.id ?? '',
            },
          ],
          generateKey: sharedKey,
          setHeaders: false,
          // Sliding-window counters: a request's cost does not grow with the traffic (window-counter.ts).
          storage: redis ? new FailOpenStorage(new RedisWindowStorage(redis)) : new MemoryWindowStorage(),
        };
      },
    }),
  ],
  providers: [
    LoginLockoutService,
    AnonymousRateLimiter,
  ],
  exports: [LoginLockoutService, AnonymousRateLimiter, ThrottlerModule],
})
export class ThrottlingModule {}

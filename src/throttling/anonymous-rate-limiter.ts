import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectThrottlerStorage, type ThrottlerStorage } from '@nestjs/throttler';
import { refusal } from '../common/refusal.js';
import type { EnvironmentVariables } from '../config/env.validation.js';
import { throttleKey, TooManyRequestsException } from './rate-limits.js';

const MINUTE_MS = 60_000;
const NAME = 'anon';

/**
 * The budget of requests without a valid access token, per client IP
 * (ANON_RATE_LIMIT a minute; issue 11, item 1). JwtAuthGuard charges it
 * before any token work when there is no token, and right after the
 * signature check (no I/O) when the token does not check out, so a flood of
 * anonymous requests is answered 429 from memory or one Redis round trip
 * instead of costing a token check and an audit write each. Requests with a
 * valid token never count: users behind the same address keep working.
 *
 * Counted in the ThrottlerModule's storage: Redis when REDIS_URL is set
 * (shared by every instance, failing open like the other limits), else
 * memory. The address is Fastify's request.ip, so X-Forwarded-For counts only
 * through TRUST_PROXY.
 */
@Injectable()
export class AnonymousRateLimiter {
  private readonly enabled: boolean;
  private readonly limit: number;

  constructor(
    @InjectThrottlerStorage() private readonly storage: ThrottlerStorage,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.enabled = config.getOrThrow('THROTTLE_ENABLED', { infer: true });
    this.limit = config.getOrThrow('ANON_RATE_LIMIT', { infer: true });
  }

  /** Counts one request without a valid token; throws a 429 refusal past the budget. */
  async charge(request: { ip?: string }): Promise<void> {
    if (!this.enabled) return;
    const { isBlocked, timeToBlockExpire } = await this.storage.increment(
      throttleKey(NAME, String(request.ip)),
      MINUTE_MS,
      this.limit,
      MINUTE_MS,
      NAME,
    );
    if (!isBlocked) return;
    throw refusal(
      new TooManyRequestsException(
        'Too many requests without a valid access token from this address; log in, or try again after the time in Retry-After.',
        timeToBlockExpire,
      ),
      'rate_limited',
    );
  }
}

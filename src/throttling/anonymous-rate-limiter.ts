import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectThrottlerStorage, type ThrottlerStorage } from '@nestjs/throttler';
import { refusal } from '../common/refusal.js';
import type { EnvironmentVariables } from '../config/env.validation.js';
import { throttleKey, TooManyRequestsException } from './rate-limits.js';

const MINUTE_MS = 60_000;
const NAME = 'anon';
/** How long a request past the budget waits for its 429. */
export const ANON_REFUSAL_DELAY_MS = 1000;
/** Refusals held back at once, from every address together; past this they are answered at once. */
export const MAX_HELD_REFUSALS = 1000;

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
 *
 * Past the budget the 429 is sent after ANON_REFUSAL_DELAY_MS, as nginx's
 * limit_req delays excess requests. Answering a refusal at once is cheap,
 * but a client that sends the next request the moment the last is answered
 * (keep-alive, as fast as it can) turns cheap into thousands a second and
 * takes the event loop from everyone else: measured on 2 cores, another
 * user's read p50 went from 5.6 ms to 59 ms while one client got 2,300 429s a
 * second (bench/flood.mjs). Held back, each of its connections gets one
 * answer a second and sits idle meanwhile (a timer each; no database
 * connection, no token work): 32 connections then send 30 requests a second,
 * 256 send 230, and the other user's p50 stayed within the noise of its
 * value alone. At most MAX_HELD_REFUSALS wait at once, so memory stays
 * bounded; beyond that they are answered at once.
 */
@Injectable()
export class AnonymousRateLimiter {
  private readonly enabled: boolean;
  private readonly limit: number;
  private held = 0;

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
    if (this.held < MAX_HELD_REFUSALS) {
      this.held++;
      try {
        await new Promise((resolve) => setTimeout(resolve, ANON_REFUSAL_DELAY_MS));
      } finally {
        this.held--;
      }
    }
    throw refusal(
      new TooManyRequestsException(
        'Too many requests without a valid access token from this address; log in, or try again after the time in Retry-After.',
        timeToBlockExpire,
      ),
      'rate_limited',
    );
  }
}

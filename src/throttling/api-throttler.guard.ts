import { type ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import { refusal } from '../common/refusal.js';
import { TooManyRequestsException } from './rate-limits.js';

/**
 * @nestjs/throttler's guard, answering 429 problem+json with a plain
 * Retry-After (the stock guard names it Retry-After-<throttler>), as a
 * refusal the exception filter records (reason rate_limited). Which requests
 * count where is set in ThrottlingModule.
 */
@Injectable()
export class ApiThrottlerGuard extends ThrottlerGuard {
  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw refusal(
      new TooManyRequestsException(
        'Too many requests; slow down and try again after the time in Retry-After.',
        detail.timeToBlockExpire,
      ),
      'rate_limited',
    );
  }
}

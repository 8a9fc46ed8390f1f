import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import { contextOf } from '../audit/audit-context.js';
import { AuditService } from '../audit/audit.service.js';
import { TooManyRequestsException } from './rate-limits.js';

/**
 * @nestjs/throttler's guard, answering 429 problem+json with a plain
 * Retry-After (the stock guard names it Retry-After-<throttler>), and writing
 * the refusal to the audit trail. Which requests count where is set in
 * ThrottlingModule.
 */
@Injectable()
export class ApiThrottlerGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly audit: AuditService,
  ) {
    super(options, storage, reflector);
  }

  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    void this.audit.recordQuietly(
      { action: 'access_denied', status: 429, reason: 'rate_limited' },
      contextOf(context.switchToHttp().getRequest()),
    );
    throw new TooManyRequestsException(
      'Too many requests; slow down and try again after the time in Retry-After.',
      detail.timeToBlockExpire,
    );
  }
}

import { Global, Module } from '@nestjs/common';
import { IdempotencyExpiry } from './idempotency-expiry.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyRepository } from './idempotency.repository.js';

/**
 * Idempotency-Key on creates: the interceptor (@Idempotent() on a route),
 * the stored answers, and their expiry. Global, as the interceptor is
 * resolved in each controller's own module.
 */
@Global()
@Module({
  providers: [IdempotencyRepository, IdempotencyInterceptor, IdempotencyExpiry],
  exports: [IdempotencyRepository, IdempotencyInterceptor],
})
export class IdempotencyModule {}

import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { isDatabaseReady } from '../database/database-startup.js';
import { IdempotencyRepository } from './idempotency.repository.js';

/** How often expired keys are removed, and how many a statement removes. */
export const EXPIRY_INTERVAL_MS = 10 * 60_000;
const EXPIRY_BATCH = 1000;

/**
 * Removes expired Idempotency-Key answers in the background, every ten
 * minutes (reads already ignore them). Instances may run it at once: each
 * batch deletes rows that are expired either way.
 */
@Injectable()
export class IdempotencyExpiry implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(IdempotencyExpiry.name);
  private timer: NodeJS.Timeout | undefined;
  private run: Promise<number> | undefined;

  constructor(
    private readonly answers: IdempotencyRepository,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.run ??= this.removeExpired().finally(() => (this.run = undefined));
    }, EXPIRY_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stops before any module closes (the pool ends in TypeORM's onApplicationShutdown); again at shutdown: a no-op. */
  beforeApplicationShutdown(): Promise<void> {
    return this.onApplicationShutdown();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.run;
  }

  /** Every expired answer, a batch at a time; how many went. */
  async removeExpired(): Promise<number> {
    if (!isDatabaseReady(this.dataSource)) return 0;
    let removed = 0;
    try {
      for (;;) {
        const n = await this.answers.removeExpired(EXPIRY_BATCH);
        removed += n;
        if (n < EXPIRY_BATCH) return removed;
      }
    } catch (error) {
      this.logger.warn({ err: { message: (error as Error).message } }, 'removing expired idempotency keys failed; retried next time');
      return removed;
    }
  }
}

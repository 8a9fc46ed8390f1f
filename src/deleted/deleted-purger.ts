import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { isDatabaseReady } from '../database/database-startup.js';
import { DeletedRecordsService } from './deleted-records.service.js';

/** The first purge waits this long after start (a CLI or a short test run never reaches it), then runs every PURGE_INTERVAL_MS. */
export const PURGE_FIRST_DELAY_MS = 60_000;
export const PURGE_INTERVAL_MS = 60 * 60_000;

/**
 * Purges expired deleted records in the background: a minute after start,
 * then hourly. Every instance runs one; the advisory lock lets one purge at a
 * time. A failure (the database down) is logged and retried next time.
 */
@Injectable()
export class DeletedPurger implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(DeletedPurger.name);
  private timer: NodeJS.Timeout | undefined;
  private run: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly deleted: DeletedRecordsService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(PURGE_FIRST_DELAY_MS);
  }

  /** Stops before any module closes (the pool ends in TypeORM's onApplicationShutdown); again at shutdown: a no-op. */
  beforeApplicationShutdown(): Promise<void> {
    return this.onApplicationShutdown();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.run;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.run = this.purge().finally(() => this.schedule(PURGE_INTERVAL_MS));
    }, delay);
    // Never what keeps a process alive.
    this.timer.unref();
  }

  private async purge(): Promise<void> {
    if (!isDatabaseReady(this.dataSource)) return;
    try {
      const { patients, doctors } = await this.deleted.purgeExpired();
      if (patients + doctors > 0) this.logger.log({ patients, doctors }, 'expired deleted records purged');
    } catch (error) {
      this.logger.warn({ err: { message: (error as Error).message } }, 'purge of expired deleted records failed; retried next time');
    }
  }
}

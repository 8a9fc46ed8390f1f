import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { isDatabaseReady } from '../database/database-startup.js';
import { AuditService, SEAL_BATCH } from './audit.service.js';

/** How often the pending events are chained: the most an event stays unsealed in normal running. */
export const SEAL_INTERVAL_MS = 200;

/**
 * Extends the audit hash chain in the background: every SEAL_INTERVAL_MS it
 * seals what requests have written since (one statement, audit_seal(), for
 * up to SEAL_BATCH events). Every instance runs one; when two call at once,
 * one seals and the other returns at once. A failure (the database down) is
 * logged once and retried on the next tick: nothing is lost, the events stay
 * queued in the database.
 */
@Injectable()
export class AuditSealer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AuditSealer.name);
  private timer: NodeJS.Timeout | undefined;
  private tick: Promise<void> | undefined;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly audit: AuditService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.tick;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.tick = this.sealPending().finally(() => this.schedule());
    }, SEAL_INTERVAL_MS);
    // Never what keeps a process alive (the CLI, a test).
    this.timer.unref();
  }

  private async sealPending(): Promise<void> {
    if (!isDatabaseReady(this.dataSource)) return;
    try {
      while (!this.stopped && (await this.audit.seal()) === SEAL_BATCH);
      if (this.failing) this.logger.log('audit events are being sealed again');
      this.failing = false;
    } catch (error) {
      if (!this.failing) {
        // The message names the failure (connection refused, timeout), never an event's values.
        this.logger.warn({ err: { message: (error as Error).message } }, 'audit events cannot be sealed now; retrying');
      }
      this.failing = true;
    }
  }
}

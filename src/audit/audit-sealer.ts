import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { AdvisoryLease } from '../database/advisory-lease.js';
import { isDatabaseReady } from '../database/database-startup.js';
import { AuditChainService, SEAL_BATCH } from './audit-chain.service.js';

/** How often the pending events are chained: the most an event stays unsealed in normal running. */
export const SEAL_INTERVAL_MS = 200;
/** The session advisory lock of the instance that seals (beside 7245001, the purge, and 7245002, idempotency keys). */
export const SEALER_LOCK_KEY = 7245003;
/** The sealer's session in pg_stat_activity, followed by the process id of the instance. */
export const SEALER_APPLICATION_NAME = 'healthcare-api audit sealer';

/**
 * Extends the audit hash chain in the background: every SEAL_INTERVAL_MS it
 * seals what requests have written since (up to SEAL_BATCH events a round).
 * One instance seals at a time: the one holding the sealer's lease (a
 * session advisory lock, advisory-lease.ts); the others wait and take over
 * within about a second when the holder stops or dies, or
 * LEASE_IDLE_TIMEOUT_MS after it freezes. Were two ever to seal at once, the
 * database would still keep one's links and refuse the other's. A failure
 * (the database down) is logged once and retried on the next tick: nothing
 * is lost, the events stay queued.
 *
 * Every AUDIT_CHECKPOINT_INTERVAL seconds it also logs a signed checkpoint
 * (`audit checkpoint`, with position and hash) for operators to keep outside
 * the database: `audit-verify --checkpoint <it>` then catches a rebuilt or
 * truncated chain.
 */
@Injectable()
export class AuditSealer implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(AuditSealer.name);
  private timer: NodeJS.Timeout | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private tick: Promise<void> | undefined;
  private stopped = false;
  private failing = false;
  private readonly lease: AdvisoryLease;

  constructor(
    private readonly chain: AuditChainService,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {
    // The process id in the session's name: pg_stat_activity shows which instance seals.
    this.lease = new AdvisoryLease(dataSource, SEALER_LOCK_KEY, `${SEALER_APPLICATION_NAME} ${process.pid}`, (held) =>
      this.logger.log(held ? 'this instance seals the audit trail' : 'this instance no longer seals the audit trail'),
    );
  }

  /** Whether this instance holds the sealer's lease now. */
  get sealing(): boolean {
    return this.lease.held;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.lease.start();
    this.schedule();
    const seconds = this.config.audit.checkpointIntervalSeconds;
    if (seconds > 0) {
      this.checkpointTimer = setInterval(() => void this.logCheckpoint(), seconds * 1000);
      this.checkpointTimer.unref();
    }
  }

  /**
   * Stops before any module closes (TypeORM ends its pool in its own
   * onApplicationShutdown): a seal still running then would fail on a closing
   * connection and log a warning about nothing. Called again at shutdown: a no-op.
   */
  beforeApplicationShutdown(): Promise<void> {
    return this.onApplicationShutdown();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.checkpointTimer);
    await this.tick;
    // After the last seal: another instance takes over at its next try.
    await this.lease.stop();
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
    if (!this.lease.held || !isDatabaseReady(this.dataSource)) return;
    try {
      while (!this.stopped && (await this.chain.seal()) === SEAL_BATCH);
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

  private async logCheckpoint(): Promise<void> {
    // The sealer's checkpoints: one series, from the instance that extends the chain.
    if (this.stopped || !this.lease.held || !isDatabaseReady(this.dataSource)) return;
    try {
      this.logger.log({ audit_checkpoint: await this.chain.checkpoint() }, 'audit checkpoint');
    } catch (error) {
      this.logger.warn({ err: { message: (error as Error).message } }, 'audit checkpoint not taken');
    }
  }
}

import { type BeforeApplicationShutdown, Logger, type OnModuleInit } from '@nestjs/common';
import type { AuditAction, AuditResourceType } from './audit-event.entity.js';
import type { RefusalValues as RefusalRow } from './audit-events.repository.js';
import type { Refusal, RefusalRecorder, RefusedRequest } from '../common/refusal.js';
import { type AuditRequestContext, bounded, contextOf } from './audit-context.js';

export interface RefusalWriterLimits {
  /** Distinct (client IP, route, status, reason, minute) aggregates held at once. */
  maxKeys: number;
  /** Authenticated refusals (one row each) waiting to be written. */
  maxEvents: number;
  /** Rows per INSERT (a longer queue is written in several, one after the other). */
  batchRows: number;
  /** How often waiting rows are written, and losses reported. */
  flushMs: number;
}

export const DEFAULT_REFUSAL_WRITER_LIMITS: RefusalWriterLimits = {
  maxKeys: 5000,
  maxEvents: 5000,
  batchRows: 500,
  flushMs: 1000,
};


/** Writes one batch (AuditEventsRepository.insertRefusals); throws when it cannot. */
type Sink = (rows: RefusalRow[]) => Promise<void>;

/**
 * A refusal decided past the guards, with what it concerned: a handler's 404
 * for someone else's patient, a 409, a wrong password, a wrong MFA code.
 * One row each, whoever the caller (it names a resource or an account).
 */
export interface RefusalEvent {
  action: AuditAction;
  status: number;
  reason: string;
  resourceType?: AuditResourceType | null;
  resourceId?: string | null;
  patientId?: string | null;
  patientIds?: string[] | null;
  /** Override the request's (a failed login names no actor, a refresh names the token's). */
  actorId?: string | null;
  sessionId?: string | null;
}
type WarnLogger = Pick<Logger, 'warn'>;

const MINUTE_MS = 60_000;
const MAX_ROUTE = 128;

/**
 * Records refusals off the request path (issue 11, item 1). A flood of
 * requests without a valid token once wrote one row per 401 through the
 * request pool and took every connection from real users; here:
 *
 * - a refusal of a request without a user (no token, a bad or expired one,
 *   an anonymous rate limit) joins an aggregate of its client IP, route,
 *   status, reason and minute: one row with a `count`, written once its
 *   minute is over (keeping the first request's id and user agent);
 * - an authenticated caller's refusal (a 403, their own 429), and one decided
 *   past the guards (a 404 for someone else's record, a wrong password or
 *   MFA code: refusedEvent), stays one row, written at once when no write
 *   is running, else with the others that arrive meanwhile (group commit);
 * - rows are written in batches by one statement at a time, so the writer
 *   never holds more than one connection;
 * - memory is bounded (maxKeys aggregates, maxEvents rows): past that, and
 *   when a write fails, refusals are counted as lost, and one warning a
 *   second says how many. Nothing is dropped silently.
 *
 * What is waiting is written on shutdown; a crash loses at most the current
 * minute's aggregates and a second of events.
 */
export class RefusalWriter implements RefusalRecorder, OnModuleInit, BeforeApplicationShutdown {
  private readonly aggregates = new Map<string, RefusalRow & { minute: number }>();
  private events: RefusalRow[] = [];
  private lostTotal = 0;
  private lostUnreported = 0;
  private lastError: string | null = null;
  private writing: Promise<void> = Promise.resolve();
  /** A write of what is due is queued or running (so ticks and full batches do not pile more on). */
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly limits: RefusalWriterLimits;

  constructor(
    private readonly write: Sink,
    limits: Partial<RefusalWriterLimits> = {},
    private readonly now: () => number = Date.now,
    private readonly logger: WarnLogger = new Logger(RefusalWriter.name),
  ) {
    this.limits = { ...DEFAULT_REFUSAL_WRITER_LIMITS, ...limits };
  }

  onModuleInit(): void {
    this.timer = setInterval(() => this.tick(), this.limits.flushMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.report();
  }

  /** Refusals lost so far (memory full or a failed write), and what waits to be written. */
  stats(): { lost: number; aggregates: number; events: number } {
    return { lost: this.lostTotal, aggregates: this.aggregates.size, events: this.events.length };
  }

  refused(refusal: Refusal, request: RefusedRequest): void {
    const ctx = contextOf(request);
    const pattern = request.routeOptions?.url;
    const row: RefusalRow = {
      action: 'access_denied',
      resourceType: null,
      resourceId: null,
      patientId: null,
      patientIds: null,
      actorId: ctx.actorId,
      sessionId: ctx.sessionId,
      status: refusal.getStatus(),
      reason: bounded(refusal.refusalReason, 200) ?? 'refused',
      requestId: ctx.requestId,
      clientIp: ctx.clientIp,
      userAgent: ctx.userAgent,
      route: pattern ? bounded(`${request.method ?? ''} ${pattern}`, MAX_ROUTE) : null,
      count: 1,
    };
    if (row.actorId) this.enqueue(row);
    else this.aggregate(row);
  }

  /** Records `event` as one row, in the request's context (`ctx`): batched like an authenticated refusal. */
  refusedEvent(event: RefusalEvent, ctx: AuditRequestContext | undefined): void {
    const patients = new Set<string>();
    if (event.patientId) patients.add(event.patientId.toLowerCase());
    for (const id of event.patientIds ?? []) patients.add(id.toLowerCase());
    this.enqueue({
      action: event.action,
      resourceType: event.resourceType ?? null,
      resourceId: event.resourceId ?? null,
      patientId: event.patientId ?? null,
      patientIds: patients.size ? [...patients] : null,
      actorId: event.actorId !== undefined ? event.actorId : (ctx?.actorId ?? null),
      sessionId: event.sessionId !== undefined ? event.sessionId : (ctx?.sessionId ?? null),
      status: event.status,
      reason: bounded(event.reason, 200) ?? 'refused',
      requestId: ctx?.requestId ?? null,
      clientIp: ctx?.clientIp ?? null,
      userAgent: ctx?.userAgent ?? null,
      route: null,
      count: 1,
    });
  }

  private enqueue(row: RefusalRow): void {
    if (this.events.length >= this.limits.maxEvents) return this.lose(1);
    this.events.push(row);
    // Group commit: written at once when no write is running; what arrives meanwhile goes in the next batch.
    this.writeSoon();
  }

  private aggregate(row: RefusalRow): void {
    const minute = Math.floor(this.now() / MINUTE_MS);
    const key = `${minute}\u0000${row.clientIp}\u0000${row.route}\u0000${row.status}\u0000${row.reason}`;
    const existing = this.aggregates.get(key);
    if (existing) {
      existing.count++;
      return;
    }
    if (this.aggregates.size >= this.limits.maxKeys) return this.lose(1);
    this.aggregates.set(key, { ...row, minute });
  }

  private lose(n: number): void {
    this.lostTotal += n;
    this.lostUnreported += n;
  }

  /** Every flushMs: write what is due, and say how many refusals were lost since the last tick. */
  tick(): void {
    this.report();
    this.writeSoon();
  }

  private writeSoon(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    void this.writeDue(false).finally(() => {
      this.scheduled = false;
      if (this.events.length > 0) this.writeSoon();
    });
  }

  /** Writes everything waiting, the current minute's aggregates included (shutdown, tests). */
  flush(): Promise<void> {
    return this.writeDue(true);
  }

  private report(): void {
    if (this.lostUnreported === 0) return;
    this.logger.warn(
      { lost: this.lostUnreported, lost_total: this.lostTotal, ...(this.lastError ? { err: { message: this.lastError } } : {}) },
      'refusals not recorded in the audit trail: the refusal writer is behind or cannot write',
    );
    this.lostUnreported = 0;
    this.lastError = null;
  }

  /** One write at a time: a call made while another writes runs after it. */
  private writeDue(all: boolean): Promise<void> {
    const run = async () => {
      const rows = this.takeDue(all);
      for (let i = 0; i < rows.length; i += this.limits.batchRows) {
        const batch = rows.slice(i, i + this.limits.batchRows);
        try {
          await this.write(batch);
        } catch (error) {
          this.lose(batch.reduce((sum, row) => sum + row.count, 0));
          this.lastError = (error as Error).message;
        }
      }
    };
    const next = this.writing.then(run);
    this.writing = next;
    return next;
  }

  private takeDue(all: boolean): RefusalRow[] {
    const rows = this.events;
    this.events = [];
    const current = Math.floor(this.now() / MINUTE_MS);
    for (const [key, aggregate] of this.aggregates) {
      if (!all && aggregate.minute >= current) continue;
      this.aggregates.delete(key);
      const { minute: _minute, ...row } = aggregate;
      rows.push(row);
    }
    return rows;
  }
}

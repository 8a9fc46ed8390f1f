import { HttpException, HttpStatus, Inject, Injectable, Module, Optional } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';

/** Searches one user may run at once, across the patient and doctor lists (SEARCH_CONCURRENCY_PER_USER's default). */
export const SEARCHES_PER_USER = 2;

/** SEARCH_CONCURRENCY_TOTAL's default: half the database pool, at least 1, so plain reads always keep the other half. */
export function defaultSearchesTotal(poolSize: number): number {
  return Math.max(1, Math.floor(poolSize / 2));
}

/** Searches that may wait for a slot at once; beyond this, 429 at once (a bound on memory, not on time). */
export const MAX_WAITING_SEARCHES = 1024;

/**
 * Bounds on concurrent searches (issue 11, item 9): each search holds a
 * database connection until its statement ends (at most
 * SEARCH_STATEMENT_TIMEOUT_MS on PostgreSQL).
 * - Per user (SEARCH_CONCURRENCY_PER_USER, waiting ones included): past it,
 *   429 at once, so one user firing many cannot take the pool or the queue.
 * - Across all users (SEARCH_CONCURRENCY_TOTAL, half of DB_POOL_SIZE by
 *   default), so many users searching 2 each cannot either: 20 users x 2
 *   over 50,000 doctors took all 10 connections and pushed another user's
 *   plain read from 21 ms to 1.13 s p50. Past it a search waits its turn,
 *   first come first served, for at most SEARCH_QUEUE_WAIT_MS, then gets 429
 *   with Retry-After. Waiting costs no connection; refusing at once instead
 *   made clients retry at once, and the retries' own cost slowed everyone
 *   (and refused a steady load of cheap searches that a short wait serves).
 */
@Injectable()
export class SearchGate {
  private readonly running = new Map<string, number>();
  private total = 0;
  private readonly waiting: Array<{ admit: () => void }> = [];
  private readonly perUser: number;
  private readonly totalLimit: number;
  private readonly queueWaitMs: number;

  constructor(@Optional() @Inject(AppConfig) config?: AppConfig) {
    this.perUser = config?.search.concurrencyPerUser ?? SEARCHES_PER_USER;
    this.totalLimit = config?.search.concurrencyTotal ?? defaultSearchesTotal(config?.database.poolSize ?? 10);
    this.queueWaitMs = config?.search.queueWaitMs ?? 2000;
  }

  /** The bounds in force: searches at once per user, across all users, and how long one may wait for a slot. */
  get limits(): { perUser: number; total: number; queueWaitMs: number } {
    return { perUser: this.perUser, total: this.totalLimit, queueWaitMs: this.queueWaitMs };
  }

  /** Runs a list under the bounds when it searches (`search` set); a list that does not search is not held. */
  list<T>(userId: string, search: string | undefined, task: () => Promise<T>): Promise<T> {
    return search === undefined ? task() : this.run(userId, task);
  }

  async run<T>(userId: string, task: () => Promise<T>): Promise<T> {
    const now = this.running.get(userId) ?? 0;
    if (now >= this.perUser) throw tooMany(`At most ${this.perUser} searches at once per user; try again shortly.`);
    this.running.set(userId, now + 1);
    try {
      // A free slot is taken at once (no await), so the search starts in the same tick as before the queue.
      if (this.total < this.totalLimit) this.total++;
      else await this.waitForSlot();
      try {
        return await task();
      } finally {
        this.release();
      }
    } finally {
      const left = (this.running.get(userId) ?? 1) - 1;
      if (left > 0) this.running.set(userId, left);
      else this.running.delete(userId);
    }
  }

  /** Waits at most queueWaitMs for a slot of the total that a finishing search hands over. */
  private async waitForSlot(): Promise<void> {
    if (this.queueWaitMs === 0 || this.waiting.length >= MAX_WAITING_SEARCHES) throw busy();
    await new Promise<void>((resolve, reject) => {
      const entry = {
        admit: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        const at = this.waiting.indexOf(entry);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(busy());
      }, this.queueWaitMs);
      this.waiting.push(entry);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next waiting search (total stays the same), so no newcomer overtakes it.
    if (next) next.admit();
    else this.total--;
  }
}

function busy(): HttpException {
  return tooMany('Too many searches are running at once; try again shortly.');
}

function tooMany(message: string): HttpException {
  return new HttpException({ message, retryAfter: 1 }, HttpStatus.TOO_MANY_REQUESTS);
}

/** One SearchGate for every list that searches, so the bounds are per user and per process, not per list. */
@Module({ providers: [SearchGate], exports: [SearchGate] })
export class SearchGateModule {}

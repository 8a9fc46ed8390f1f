import { HttpException, HttpStatus, Inject, Injectable, Module, Optional } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';

/** Searches one user may run at once, across the patient and doctor lists (SEARCH_CONCURRENCY_PER_USER's default). */
export const SEARCHES_PER_USER = 2;

/** SEARCH_CONCURRENCY_TOTAL's default: half the database pool, at least 1, so plain reads always keep the other half. */
export function defaultSearchesTotal(poolSize: number): number {
  return Math.max(1, Math.floor(poolSize / 2));
}

/**
 * Bounds on concurrent searches (issue 11, item 9): each search holds a
 * database connection until its statement ends (at most
 * SEARCH_STATEMENT_TIMEOUT_MS on PostgreSQL).
 * - Per user (SEARCH_CONCURRENCY_PER_USER), so one user firing many at once
 *   cannot take the pool.
 * - Across all users (SEARCH_CONCURRENCY_TOTAL, half of DB_POOL_SIZE by
 *   default), so many users searching 2 each cannot either: 20 users x 2
 *   over 50,000 doctors took all 10 connections and pushed another user's
 *   plain read from 21 ms to 1.13 s p50.
 * Over either bound: 429 with Retry-After, nothing queued. A queue would keep
 * the request, its socket and its client waiting for a slot that a steady
 * stream of searches keeps busy; it would only delay the same refusal, and a
 * refused client knows at once when to try again.
 */
@Injectable()
export class SearchGate {
  private readonly running = new Map<string, number>();
  private total = 0;
  private readonly perUser: number;
  private readonly totalLimit: number;

  constructor(@Optional() @Inject(AppConfig) config?: AppConfig) {
    this.perUser = config?.search.concurrencyPerUser ?? SEARCHES_PER_USER;
    this.totalLimit = config?.search.concurrencyTotal ?? defaultSearchesTotal(config?.database.poolSize ?? 10);
  }

  /** The bounds in force: searches at once per user, and across all users. */
  get limits(): { perUser: number; total: number } {
    return { perUser: this.perUser, total: this.totalLimit };
  }

  /** Runs a list under the bounds when it searches (`search` set); a list that does not search is not held. */
  list<T>(userId: string, search: string | undefined, task: () => Promise<T>): Promise<T> {
    return search === undefined ? task() : this.run(userId, task);
  }

  async run<T>(userId: string, task: () => Promise<T>): Promise<T> {
    const now = this.running.get(userId) ?? 0;
    if (now >= this.perUser) throw tooMany(`At most ${this.perUser} searches at once per user; try again shortly.`);
    if (this.total >= this.totalLimit) throw tooMany('Too many searches are running at once; try again shortly.');
    this.running.set(userId, now + 1);
    this.total++;
    try {
      return await task();
    } finally {
      this.total--;
      const left = (this.running.get(userId) ?? 1) - 1;
      if (left > 0) this.running.set(userId, left);
      else this.running.delete(userId);
    }
  }
}

function tooMany(message: string): HttpException {
  return new HttpException({ message, retryAfter: 1 }, HttpStatus.TOO_MANY_REQUESTS);
}

/** One SearchGate for every list that searches, so the bounds are per user and per process, not per list. */
@Module({ providers: [SearchGate], exports: [SearchGate] })
export class SearchGateModule {}

import { HttpException, HttpStatus, Injectable, Module, Optional } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';

/** Searches one user may run at once, across the patient and doctor lists (SEARCH_CONCURRENCY_PER_USER's default). */
export const SEARCHES_PER_USER = 2;

/**
 * A per-user bound on concurrent searches (issue 11, item 9): each search
 * holds a database connection until its statement ends (at most
 * SEARCH_STATEMENT_TIMEOUT_MS on PostgreSQL), so one user firing many at once
 * could take the pool from everyone else. Over the bound: 429 with
 * Retry-After, nothing queued.
 */
@Injectable()
export class SearchGate {
  private readonly running = new Map<string, number>();
  private readonly limit: number;

  constructor(@Optional() config?: AppConfig) {
    this.limit = config?.search.concurrencyPerUser ?? SEARCHES_PER_USER;
  }

  /** Runs a list under the bound when it searches (`search` set); a list that does not search is not held. */
  list<T>(userId: string, search: string | undefined, task: () => Promise<T>): Promise<T> {
    return search === undefined ? task() : this.run(userId, task);
  }

  async run<T>(userId: string, task: () => Promise<T>): Promise<T> {
    const now = this.running.get(userId) ?? 0;
    if (now >= this.limit) {
      throw new HttpException(
        { message: `At most ${this.limit} searches at once per user; try again shortly.`, retryAfter: 1 },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    this.running.set(userId, now + 1);
    try {
      return await task();
    } finally {
      const left = (this.running.get(userId) ?? 1) - 1;
      if (left > 0) this.running.set(userId, left);
      else this.running.delete(userId);
    }
  }
}

/** One SearchGate for every list that searches, so the bound is per user, not per list. */
@Module({ providers: [SearchGate], exports: [SearchGate] })
export class SearchGateModule {}

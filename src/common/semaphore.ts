/**
 * At most `limit` tasks at once; the others wait their turn, first come first
 * served. For CPU-bound work on libuv's threadpool (argon2), where running
 * more at once than there are cores only makes each one slower and starves
 * the event loop.
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  /** `maxWaiting`: beyond this many waiting, run() refuses at once with SemaphoreFullError. */
  constructor(
    readonly limit: number,
    readonly maxWaiting = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`Semaphore limit must be a positive integer, got ${limit}`);
  }

  /** Tasks running now, and waiting. */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit && this.waiting.length >= this.maxWaiting) throw new SemaphoreFullError();
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next task (active stays the same), so no newcomer can overtake it.
      if (next) next();
      else this.active--;
    }
  }
}

/** Too many tasks already waiting: the caller should shed the work (503) rather than queue without bound. */
export class SemaphoreFullError extends Error {
  constructor() {
    super('Too many tasks waiting');
    this.name = 'SemaphoreFullError';
  }
}

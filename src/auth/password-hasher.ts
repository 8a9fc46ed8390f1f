import { availableParallelism } from 'node:os';
import { Inject, Injectable, type OnModuleInit, Optional, ServiceUnavailableException } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { hash, verify } from '@node-rs/argon2';
import { Semaphore, SemaphoreFullError } from '../common/semaphore.js';
import { TooManyRequestsException } from '../throttling/rate-limits.js';

/**
 * OWASP's argon2id parameters: 19 MiB, 2 iterations, 1 lane. `algorithm: 2`
 * is Algorithm.Argon2id, an ambient const enum that isolatedModules cannot inline.
 */
const ARGON2_ID = 2;
const ARGON2_OPTIONS = { algorithm: ARGON2_ID, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
/** Hashes waiting beyond this are refused with 503 (about a second of hashing per slot): no unbounded queue. */
const MAX_WAITING = 128;
/**
 * Hashes one key (an account, or a name nobody has) may have in flight: one
 * running, the rest waiting behind it. More are refused with 429.
 */
export const MAX_IN_FLIGHT_PER_KEY = 4;

/** One fewer than the cores, and than libuv's threads (DNS lookups and file I/O share them), at least 1. */
function defaultConcurrency(): number {
  const threads = Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '', 10) || 4;
  return Math.max(1, Math.min(availableParallelism() - 1, threads - 1));
}

/**
 * argon2id on libuv's threadpool (4 threads by default), at most
 * PASSWORD_HASH_CONCURRENCY at once (default: cores - 1, at most libuv's
 * threads - 1, at least 1), at most 128 waiting (then 503). Four
 * hashes at once on two cores made each one slower (each faults in its own
 * 19 MiB) and left the event loop a sliver of a core, so reads queued behind
 * a login storm (bench/README.md has the before and after).
 *
 * Fair between callers (issue 11 item 5: three users guessing old passwords
 * filled the queue and everyone else's logins waited or got 503): every hash
 * names the key it is spent on (`user:<id>`, or `name:<canonical username>`
 * for a name without an account), and one key runs one hash at a time with at
 * most MAX_IN_FLIGHT_PER_KEY - 1 waiting behind it. So one key holds at most
 * one slot of the pool and one place in its queue, whatever it sends.
 */
@Injectable()
export class PasswordHasher implements OnModuleInit {
  /** A real hash of a random value, verified when a login names no user, so both paths cost the same. */
  private dummyHash: string | undefined;
  private readonly gate: Semaphore;
  private readonly perKey: number;
  /** Per key: hashes in flight, and the end of its line (each waits for the one before). */
  private readonly lines = new Map<string, { inFlight: number; tail: Promise<void> }>();

  // @Inject: a Pick<> type carries no runtime token, so without it Nest injected nothing and the
  // configured bounds were silently ignored (the benchmark's login storm found it).
  constructor(@Optional() @Inject(AppConfig) config?: Pick<AppConfig, 'auth'>) {
    this.gate = new Semaphore(config?.auth.passwordHashConcurrency ?? defaultConcurrency(), MAX_WAITING);
    this.perKey = config?.auth.passwordHashPerAccount ?? MAX_IN_FLIGHT_PER_KEY;
  }

  /** How many hashes may run at once. */
  get concurrency(): number {
    return this.gate.limit;
  }

  /** How many hashes one key may have in flight. */
  get perAccount(): number {
    return this.perKey;
  }

  async onModuleInit(): Promise<void> {
    this.dummyHash = await this.hash(crypto.randomUUID(), 'startup');
  }

  /** `key`: whose hashing budget this is (see the class comment). */
  hash(password: string, key: string): Promise<string> {
    return this.throttled(key, () => hash(password, ARGON2_OPTIONS));
  }

  async verify(storedHash: string | undefined, password: string, key: string): Promise<boolean> {
    if (storedHash === undefined) {
      this.dummyHash ??= await this.hash(crypto.randomUUID(), 'startup');
      const dummy = this.dummyHash;
      await this.throttled(key, () => verify(dummy, password).catch(() => false));
      return false;
    }
    // A malformed stored hash is a failed login, not an error.
    return this.throttled(key, () => verify(storedHash, password).catch(() => false));
  }

  /**
   * In the key's line, then through the gate. A key with too many in flight
   * is a 429; a full gate a 503; both with Retry-After, never a 401 for a
   * good password.
   */
  private async throttled<T>(key: string, task: () => Promise<T>): Promise<T> {
    const line = this.lines.get(key) ?? { inFlight: 0, tail: Promise.resolve() };
    if (line.inFlight >= this.perKey) {
      throw new TooManyRequestsException('Too many password checks for this account at once; try again shortly.', 1);
    }
    line.inFlight += 1;
    this.lines.set(key, line);
    const before = line.tail;
    let done!: () => void;
    line.tail = new Promise<void>((resolve) => (done = resolve));
    try {
      await before;
      return await this.gate.run(task);
    } catch (error) {
      if (error instanceof SemaphoreFullError) {
        throw new ServiceUnavailableException({ message: 'Too many logins at once; try again shortly.', retryAfter: 1 });
      }
      throw error;
    } finally {
      done();
      line.inFlight -= 1;
      if (line.inFlight === 0) this.lines.delete(key);
    }
  }
}

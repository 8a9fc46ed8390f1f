import { availableParallelism } from 'node:os';
import { Injectable, type OnModuleInit, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { hash, verify } from '@node-rs/argon2';
import { Semaphore } from '../common/semaphore.js';

/**
 * OWASP's argon2id parameters: 19 MiB, 2 iterations, 1 lane. `algorithm: 2`
 * is Algorithm.Argon2id, an ambient const enum that isolatedModules cannot inline.
 */
const ARGON2_ID = 2;
const ARGON2_OPTIONS = { algorithm: ARGON2_ID, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/**
 * argon2id on libuv's threadpool (4 threads by default), at most
 * PASSWORD_HASH_CONCURRENCY at once (default: cores - 1, at least 1). Four
 * hashes at once on two cores made each one slower (each faults in its own
 * 19 MiB) and left the event loop a sliver of a core, so reads queued behind
 * a login storm (bench/README.md has the before and after).
 */
@Injectable()
export class PasswordHasher implements OnModuleInit {
  /** A real hash of a random value, verified when a login names no user, so both paths cost the same. */
  private dummyHash: string | undefined;
  private readonly gate: Semaphore;

  constructor(@Optional() config?: ConfigService) {
    const configured = config?.get<number>('PASSWORD_HASH_CONCURRENCY');
    this.gate = new Semaphore(configured ?? Math.max(1, availableParallelism() - 1));
  }

  /** How many hashes may run at once. */
  get concurrency(): number {
    return this.gate.limit;
  }

  async onModuleInit(): Promise<void> {
    this.dummyHash = await this.hash(crypto.randomUUID());
  }

  hash(password: string): Promise<string> {
    return this.gate.run(() => hash(password, ARGON2_OPTIONS));
  }

  async verify(storedHash: string | undefined, password: string): Promise<boolean> {
    if (storedHash === undefined) {
      this.dummyHash ??= await this.hash(crypto.randomUUID());
      const dummy = this.dummyHash;
      await this.gate.run(() => verify(dummy, password)).catch(() => false);
      return false;
    }
    try {
      return await this.gate.run(() => verify(storedHash, password));
    } catch {
      return false;
    }
  }
}

import { AsyncLocalStorage } from 'node:async_hooks';
import type { DataSource, EntityManager } from 'typeorm';

/**
 * Work a request adds to the transaction of its write, whatever service
 * makes that write: before it (which may refuse it by throwing) and after it,
 * with its result, before the commit. The Idempotency-Key interceptor uses it
 * to check its key and to store the answer in the write's own transaction.
 */
export interface WriteHooks {
  before(manager: EntityManager): Promise<void>;
  after(manager: EntityManager, result: unknown): Promise<void>;
}

interface Slot {
  hooks: WriteHooks;
  /** The first write transaction of the request takes the hooks; any later one runs without them. */
  used: boolean;
}

const slots = new AsyncLocalStorage<Slot>();

/** Runs `work` (a request's handling) with hooks for its first write transaction; `used()` says whether one ran. */
export function withWriteHooks<T>(hooks: WriteHooks, work: (used: () => boolean) => T): T {
  const slot: Slot = { hooks, used: false };
  return slots.run(slot, () => work(() => slot.used));
}

/**
 * `dataSource.transaction(work)`, with the request's write hooks, if it has
 * any, around `work`: the write, its hooks' rows and its audit event commit
 * or roll back together. The creates that accept an Idempotency-Key make
 * their write through it.
 */
export function writeTransaction<T>(dataSource: Pick<DataSource, 'transaction'>, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  const slot = slots.getStore();
  if (!slot || slot.used) return dataSource.transaction(work);
  slot.used = true;
  return dataSource.transaction(async (manager) => {
    await slot.hooks.before(manager);
    const result = await work(manager);
    await slot.hooks.after(manager, result);
    return result;
  });
}

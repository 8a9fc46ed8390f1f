import { describe, expect, it } from '@jest/globals';
import { HttpException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppConfig, validate } from '../config/app-config.js';
import { defaultSearchesTotal, SearchGate } from './search-gate.js';

/** A promise and the function that settles it, so a test holds a search open. */
function held(): { promise: Promise<string>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<string>((resolve) => (release = () => resolve('done')));
  return { promise, release };
}

async function gateWith(env: Record<string, string>): Promise<SearchGate> {
  const moduleRef = await Test.createTestingModule({
    providers: [SearchGate, { provide: AppConfig, useValue: validate(env) }],
  }).compile();
  return moduleRef.get(SearchGate);
}

/** The status and Retry-After a refusal carries. */
async function refusal(promise: Promise<unknown>): Promise<{ status: number; retryAfter: unknown }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HttpException);
  const http = error as HttpException;
  return { status: http.getStatus(), retryAfter: (http.getResponse() as { retryAfter?: unknown }).retryAfter };
}

describe(SearchGate.name, () => {
  it('defaults the total to half the pool, at least 1', () => {
    expect([1, 2, 3, 10, 41].map(defaultSearchesTotal)).toEqual([1, 1, 1, 5, 20]);
  });

  it('refuses a third search of one user (429, Retry-After 1) while two run', async () => {
    const gate = await gateWith({});
    const a = held();
    const b = held();
    const running = [gate.run('u1', () => a.promise), gate.run('u1', () => b.promise)];
    expect(await refusal(gate.run('u1', async () => 'x'))).toEqual({ status: 429, retryAfter: 1 });
    expect(await gate.run('u2', async () => 'other user')).toBe('other user');
    a.release();
    b.release();
    expect(await Promise.all(running)).toEqual(['done', 'done']);
  });

  it('lets a search past the total wait for a slot, first come first served, and runs it when one frees', async () => {
    const gate = await gateWith({ DB_POOL_SIZE: '6' }); // total 3
    const holds = [held(), held(), held()];
    const running = holds.map((h, i) => gate.run(`user${i}`, () => h.promise));
    const order: string[] = [];
    const first = gate.run('user8', async () => order.push('user8'));
    const second = gate.run('user9', async () => order.push('user9'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual([]); // both wait: every slot is held
    holds[0].release();
    await Promise.all([first, second]);
    expect(order).toEqual(['user8', 'user9']);
    holds[1].release();
    holds[2].release();
    await Promise.all(running);
  });

  it('refuses a search that waited SEARCH_QUEUE_WAIT_MS for a slot (429, Retry-After 1), and one at once with no wait', async () => {
    const gate = await gateWith({ DB_POOL_SIZE: '2', SEARCH_CONCURRENCY_TOTAL: '1', SEARCH_QUEUE_WAIT_MS: '50' });
    const h = held();
    const running = gate.run('u1', () => h.promise);
    const startedAt = Date.now();
    expect(await refusal(gate.run('u2', async () => 'x'))).toEqual({ status: 429, retryAfter: 1 });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(45); // it did wait
    const noWait = await gateWith({ DB_POOL_SIZE: '2', SEARCH_CONCURRENCY_TOTAL: '1', SEARCH_QUEUE_WAIT_MS: '0' });
    const h2 = held();
    const running2 = noWait.run('u1', () => h2.promise);
    expect(await refusal(noWait.run('u2', async () => 'x'))).toEqual({ status: 429, retryAfter: 1 });
    h.release();
    h2.release();
    await Promise.all([running, running2]);
    // The timed-out search left no slot taken and no place in the line.
    expect(await gate.run('u3', async () => 'admitted')).toBe('admitted');
  });

  it('frees its slots when a search fails', async () => {
    const gate = await gateWith({ DB_POOL_SIZE: '2', SEARCH_CONCURRENCY_TOTAL: '1' });
    await expect(gate.run('u1', async () => Promise.reject(new Error('statement timeout')))).rejects.toThrow('statement timeout');
    expect(await gate.run('u2', async () => 'ok')).toBe('ok');
  });

  it('does not hold a list that does not search', async () => {
    const gate = await gateWith({ DB_POOL_SIZE: '2', SEARCH_CONCURRENCY_TOTAL: '1', SEARCH_QUEUE_WAIT_MS: '0' });
    const h = held();
    const running = gate.list('u1', 'ann', () => h.promise);
    expect(await gate.list('u2', undefined, async () => 'plain read')).toBe('plain read');
    expect(await refusal(gate.list('u2', 'bob', async () => 'x'))).toMatchObject({ status: 429 });
    h.release();
    await running;
  });
});

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

  it('refuses a search past the total across users, and admits one again when a slot frees', async () => {
    const gate = await gateWith({ DB_POOL_SIZE: '6' }); // total 3
    const holds = [held(), held(), held()];
    const running = holds.map((h, i) => gate.run(`user${i}`, () => h.promise));
    expect(await refusal(gate.run('user9', async () => 'x'))).toEqual({ status: 429, retryAfter: 1 });
    holds[0].release();
    await running[0];
    expect(await gate.run('user9', async () => 'admitted')).toBe('admitted');
    holds[1].release();
    holds[2].release();
    await Promise.all(running);
  });

  it('frees its slots when a search fails', async () => {
    const gate = await gateWith({ DB_POOL_SIZE: '2', SEARCH_CONCURRENCY_TOTAL: '1' });
    await expect(gate.run('u1', async () => Promise.reject(new Error('statement timeout')))).rejects.toThrow('statement timeout');
    expect(await gate.run('u2', async () => 'ok')).toBe('ok');
  });

  it('does not hold a list that does not search', async () => {
    const gate = await gateWith({ DB_POOL_SIZE: '2', SEARCH_CONCURRENCY_TOTAL: '1' });
    const h = held();
    const running = gate.list('u1', 'ann', () => h.promise);
    expect(await gate.list('u2', undefined, async () => 'plain read')).toBe('plain read');
    expect(await refusal(gate.list('u2', 'bob', async () => 'x'))).toMatchObject({ status: 429 });
    h.release();
    await running;
  });
});

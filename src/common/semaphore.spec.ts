import { describe, expect, it } from '@jest/globals';
import { Semaphore, SemaphoreFullError } from './semaphore.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe(Semaphore.name, () => {
  it('runs at most `limit` tasks at once, the rest in arrival order', async () => {
    const gate = new Semaphore(2);
    const releases: Array<() => void> = [];
    const started: number[] = [];
    const tasks = [0, 1, 2, 3, 4].map((i) =>
      gate.run(async () => {
        started.push(i);
        await new Promise<void>((resolve) => releases.push(resolve));
        return i;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    expect(gate.load).toEqual({ active: 2, waiting: 3 });

    releases[0]();
    await tick();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    releases[1]();
    releases[2]();
    await tick();
    await tick();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    releases[3]();
    releases[4]();
    await expect(Promise.all(tasks)).resolves.toEqual([0, 1, 2, 3, 4]);
    expect(gate.load).toEqual({ active: 0, waiting: 0 });
  });

  it('a failing task frees its slot and its error reaches its caller only', async () => {
    const gate = new Semaphore(1);
    const failed = gate.run(async () => {
      throw new Error('boom');
    });
    const next = gate.run(async () => 'ran');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ran');
    expect(gate.load).toEqual({ active: 0, waiting: 0 });
  });

  it('beyond maxWaiting, refuses at once instead of queueing', async () => {
    const gate = new Semaphore(1, 1);
    let release!: () => void;
    const first = gate.run(() => new Promise<void>((resolve) => (release = resolve)));
    const second = gate.run(async () => 'second');
    await expect(gate.run(async () => 'third')).rejects.toBeInstanceOf(SemaphoreFullError);
    expect(gate.load).toEqual({ active: 1, waiting: 1 });
    release();
    await first;
    await expect(second).resolves.toBe('second');
  });

  it('refuses a limit below 1', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
    expect(() => new Semaphore(1.5)).toThrow(RangeError);
  });
});

// The per-request cost of the rate limiter's store as the hits of the last minute grow: the stock
// in-memory store of @nestjs/throttler (a timestamp per hit) against the sliding-window counter
// the API uses (src/throttling/window-counter.ts, two integers per key), one key, limit never reached.
//
//   npm run build:api && node bench/limiter-cost.mjs
//
// Prints microseconds per increment() after 1,000, 10,000, 50,000 and 100,000 hits in the window.
import { performance } from 'node:perf_hooks';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { MemoryWindowStorage } from '../dist/src/throttling/window-counter.js';
import { out } from './lib/util.mjs';

const MINUTE = 60_000;
const LIMIT = 1e9;
const MARKS = [1_000, 10_000, 50_000, 100_000];
const SAMPLE = 1_000;

async function costs(store) {
  const result = {};
  let hits = 0;
  for (const mark of MARKS) {
    while (hits < mark - SAMPLE) {
      await store.increment('user:bench', MINUTE, LIMIT, MINUTE, 'user');
      hits++;
    }
    const start = performance.now();
    for (let i = 0; i < SAMPLE; i++) await store.increment('user:bench', MINUTE, LIMIT, MINUTE, 'user');
    hits += SAMPLE;
    result[mark] = Math.round(((performance.now() - start) / SAMPLE) * 1000 * 100) / 100;
  }
  store.onApplicationShutdown?.();
  return result;
}

const stock = await costs(new ThrottlerStorageService());
const window = await costs(new MemoryWindowStorage());
out('µs per increment() by hits in the last minute (one key):');
out(`${'hits'.padEnd(28)}${MARKS.map((m) => String(m).padStart(10)).join('')}`);
out(`${'@nestjs/throttler in memory'.padEnd(28)}${MARKS.map((m) => String(stock[m]).padStart(10)).join('')}`);
out(`${'sliding-window counter'.padEnd(28)}${MARKS.map((m) => String(window[m]).padStart(10)).join('')}`);

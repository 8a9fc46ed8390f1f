import { createServer } from 'node:net';

/** The harness prints through this (the lint rules forbid console). */
export const out = (line = '') => process.stdout.write(`${line}\n`);
export const warn = (line) => process.stderr.write(`${line}\n`);
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function median(values) {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** (max - min) / median, as a fraction: how far apart the runs were. */
export function spread(values) {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
  const m = median(xs);
  if (!m || xs.length < 2) return 0;
  return (Math.max(...xs) - Math.min(...xs)) / m;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export const round = (v, digits = 2) => (v === null || v === undefined ? null : Number(v.toFixed(digits)));

/** A TCP port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

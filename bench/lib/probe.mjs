// A fixed-rate (open-loop) prober for "the p99 of scenario 1 at a fixed rate".
// wrk has no rate limit and wrk2 is not packaged by Debian. At a few hundred
// requests a second a Node client costs a few percent of a core, so it can run
// in the harness itself. Each request is sent at its scheduled time whether or
// not earlier ones have answered, and its latency is counted from that
// scheduled time, so a stalled server shows up in the figures instead of
// silently slowing the prober (no coordinated omission).
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { percentile } from './util.mjs';

export function probeFixedRate({ port, path, headers, rate, seconds }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.max(1, Math.round(rate * seconds));
  const interval = 1000 / rate;
  const latencies = [];
  let errors = 0;
  let non2xx = 0;
  let finished = 0;
  let lateSends = 0;

  return new Promise((resolve) => {
    const start = performance.now() + 5;
    const settle = (scheduled, status) => {
      if (status === 0) errors++;
      else {
        latencies.push(performance.now() - scheduled);
        if (status < 200 || status > 299) non2xx++;
      }
      if (++finished === total) {
        agent.destroy();
        latencies.sort((a, b) => a - b);
        resolve({
          rate,
          seconds,
          requests: total,
          p50_ms: percentile(latencies, 50),
          p99_ms: percentile(latencies, 99),
          max_ms: latencies[latencies.length - 1] ?? null,
          errors,
          non_2xx: non2xx,
          late_sends: lateSends,
        });
      }
    };
    const fire = (scheduled) => {
      const req = request({ agent, host: '127.0.0.1', port, path: path(), headers, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => settle(scheduled, res.statusCode));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => settle(scheduled, 0));
      req.end();
    };
    let next = 0;
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        // More than one interval behind: the prober itself could not keep up (recorded, not hidden).
        if (now - (start + next * interval) > interval) lateSends++;
        fire(start + next * interval);
        next++;
      }
      if (next < total) setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    setTimeout(tick, 5);
  });
}

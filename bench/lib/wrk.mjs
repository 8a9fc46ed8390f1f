// wrk: the load generator (C, epoll; a Node generator would take too much of two cores).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { out } from './util.mjs';

const running = new Set();

function hasWrk() {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
}

/** Installs Debian's wrk when it is missing (as root, or through sudo). */
export function ensureWrk() {
  if (hasWrk()) return;
  out('wrk is missing: installing Debian\'s wrk');
  const root = process.getuid?.() === 0;
  const run = (args) =>
    execFileSync(root ? args[0] : 'sudo', root ? args.slice(1) : args, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  run(['apt-get', 'update', '-qq']);
  run(['apt-get', 'install', '-y', '-qq', 'wrk']);
  if (!hasWrk()) throw new Error('wrk is still missing after apt-get install wrk');
}

/** Stops any wrk still running (the harness is being interrupted). */
export function killWrk() {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * One wrk run. The Lua script's done() prints a BENCH_RESULT line; socket
 * errors are connect + read + write + timeout; non_2xx is wrk's status count
 * (responses above 399: no scenario route answers 3xx).
 */
export function runWrk({ port, script, connections, threads, seconds, env }) {
  const t = Math.min(threads, connections);
  const args = [`-t${t}`, `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', script, `http://127.0.0.1:${port}`];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { env: { ...process.env, ...env, BENCH_THREADS: String(t) } });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      running.delete(child);
      const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (code !== 0 || !line) {
        reject(new Error(`wrk failed (exit ${code}): ${stderr.trim() || stdout.trim()}`));
        return;
      }
      const r = JSON.parse(line.slice('BENCH_RESULT '.length));
      resolve({
        requests: r.requests,
        seconds: r.duration_us / 1e6,
        rps: r.requests / (r.duration_us / 1e6),
        p50_ms: r.p50_us / 1000,
        p90_ms: r.p90_us / 1000,
        p99_ms: r.p99_us / 1000,
        max_ms: r.max_us / 1000,
        errors: r.connect + r.read + r.write + r.timeout,
        socket_errors: { connect: r.connect, read: r.read, write: r.write, timeout: r.timeout },
        non_2xx: r.status,
      });
    });
  });
}

#!/usr/bin/env node
// Issue 11, item 2: the CPU the API spends to refuse the worst request bodies
// that fit in the body limit (100 KB): many keys, deep nesting, long strings,
// many unknown fields, big arrays. Each shape is sent --requests times in a
// row by one user on one keep-alive connection to POST /api/patients/; the
// figure is the server process's CPU time (utime + stime from /proc, all its
// threads) over those requests, per request, with the answer's status and
// size. Rounds interleave the shapes; the median and the spread over the
// rounds are reported. Target: no shape costs more than 10 ms of CPU.
//
//   node bench/refusal-cost.mjs [--rounds=3] [--requests=100] [--no-build]
//
// Production mode on PostgreSQL in a database of its own (hc_bench_refusal,
// dropped at the end); the user's per-user rate limit is lifted so every
// request reaches the parser.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, call, machine, newAgent, newUser, parseArgs, startProdApi } from './lib/api.mjs';
import { cpuMicros } from './lib/procstat.mjs';
import { median, out, percentile, round, spread } from './lib/util.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = parseArgs();
const ROUNDS = Number(args.rounds ?? 3);
const REQUESTS = Number(args.requests ?? 100);
/** Just under the API's body limit (src/http/json-body.ts, 102,400 bytes). */
const BUDGET = 102_000;

const keys = (n, len, value = '1') =>
  `{${Array.from({ length: n }, (_, i) => `"${`k${i}_`.padEnd(len, 'x')}":${value}`).join(',')}}`;
/** n keys with names as long as the budget allows. */
const fillKeys = (n) => keys(n, Math.floor(BUDGET / n) - 5);
const valid = '"name":"Ann","age":30,"gender":"female"';

const SHAPES = {
  'a valid-shape body with one wrong type (reference)': () => `{"name":"Ann","age":"30","gender":"female"}`,
  '10,000 unknown keys (the issue\'s attack)': () => `{${Array.from({ length: 10_000 }, (_, i) => `"k${i}":1`).join(',')}}`,
  '65 keys in one object, long names (past the 64 bound)': () => fillKeys(65),
  '64 unknown keys, long names (inside the bounds: validation lists 10)': () => `{${valid},${fillKeys(61).slice(1)}`,
  '257 keys in all over nested objects (past the 256 bound)': () => {
    const inner = Array.from({ length: 5 }, (_, o) => `"o${o}":${keys(o < 4 ? 63 : 252 - 4 * 63, 60)}`);
    return `{${inner.join(',')}}`;
  },
  '256 keys in all, nested (inside the bounds)': () => {
    const inner = Array.from({ length: 4 }, (_, o) => `"o${o}":${keys(63, 80)}`);
    return `{${inner.join(',')}}`;
  },
  'nesting 33 deep (past the 32 bound), padded with a long string': () => `{"name":"${'x'.repeat(BUDGET - 400)}","a":${'{"a":'.repeat(32)}1${'}'.repeat(32)}}`,
  '50,000 nested arrays [[[[...': () => `${'['.repeat(BUDGET / 2)}${']'.repeat(BUDGET / 2)}`,
  'nesting 31 deep (inside the bounds)': () => `{${valid},"a":${'{"a":'.repeat(30)}1${'}'.repeat(30)}}`,
  'one 100 KB string in a field (name)': () => `{"name":"${'x'.repeat(BUDGET - 60)}","age":30,"gender":"female"}`,
  'a 100 KB string of \\u escapes': () => `{"name":"${'\\u00e9'.repeat(Math.floor((BUDGET - 60) / 6))}","age":30,"gender":"female"}`,
  'lone surrogates, 16,000 of them': () => `{"name":"${'\\ud800'.repeat(Math.floor((BUDGET - 60) / 6))}","age":30,"gender":"female"}`,
  '50,000-item array (past the 256 bound)': () => `{"name":[${'1,'.repeat(BUDGET / 2 - 20)}1]}`,
  '4 arrays of 256 long strings (1,024 items: inside the bounds)': () => {
    const item = `"${'y'.repeat(Math.floor(BUDGET / 1024) - 4)}"`;
    return `{${Array.from({ length: 4 }, (_, a) => `"f${a}":[${Array(256).fill(item).join(',')}]`).join(',')}}`;
  },
  '100 KB of whitespace around {}': () => `${' '.repeat(BUDGET - 2)}{}`,
};

/** The server's CPU while it serves nothing (its timers: the audit sealer, the refusal writer, GC), in µs a second. */
async function idleRate(api) {
  const before = cpuMicros(api.pid);
  const started = process.hrtime.bigint();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  return (cpuMicros(api.pid) - before) / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function measure(api, token, body, idleUsPerSecond) {
  const agent = newAgent();
  const first = await call(api.port, 'POST', '/api/patients/', { token, raw: body, agent });
  const latencies = [];
  const before = cpuMicros(api.pid);
  const started = process.hrtime.bigint();
  for (let i = 0; i < REQUESTS; i++) {
    const res = await call(api.port, 'POST', '/api/patients/', { token, raw: body, agent });
    if (res.status !== first.status) throw new Error(`status changed: ${first.status} then ${res.status}`);
    latencies.push(res.ms);
  }
  const after = cpuMicros(api.pid);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    status: first.status,
    detail: first.body?.detail,
    answer_bytes: first.bytes,
    cpu_ms_per_request: round((after - before) / REQUESTS / 1000, 3),
    // Less what the server spends meanwhile when idle.
    net_cpu_ms_per_request: round(Math.max(0, after - before - idleUsPerSecond * seconds) / REQUESTS / 1000, 3),
    p50_ms: round(percentile(latencies, 50)),
  };
}

async function main() {
  if (!args['no-build']) build(ROOT);
  const work = mkdtempSync(join(tmpdir(), 'hc-refusal-'));
  const api = await startProdApi({ root: ROOT, db: 'hc_bench_refusal', env: { USER_RATE_LIMIT: '1000000000' }, logFile: join(work, 'api.log') });
  try {
    const where = await machine(api.admin);
    const user = await newUser(api.port, 'refusal');
    const bodies = Object.fromEntries(Object.entries(SHAPES).map(([name, make]) => [name, make()]));
    for (const [name, body] of Object.entries(bodies)) {
      if (Buffer.byteLength(body) > 102_400) throw new Error(`${name}: ${Buffer.byteLength(body)} bytes, over the body limit`);
    }
    // Warm-up: every shape a few times, so the JIT has seen them all.
    for (const body of Object.values(bodies)) for (let i = 0; i < 20; i++) await call(api.port, 'POST', '/api/patients/', { token: user.access, raw: body });
    const runs = Object.fromEntries(Object.keys(bodies).map((name) => [name, []]));
    const idle = [];
    for (let r = 0; r < ROUNDS; r++) {
      idle.push(await idleRate(api));
      for (const [name, body] of Object.entries(bodies)) runs[name].push(await measure(api, user.access, body, idle[r]));
      out(`round ${r + 1} done (idle server: ${round(idle[r] / 1000, 1)} ms of CPU a second)`);
    }
    const shapes = Object.entries(runs).map(([name, rs]) => ({
      shape: name,
      body_bytes: Buffer.byteLength(bodies[name]),
      status: rs[0].status,
      detail: rs[0].detail,
      answer_bytes: rs[0].answer_bytes,
      cpu_ms_per_request: median(rs.map((x) => x.cpu_ms_per_request)),
      cpu_ms_range: [Math.min(...rs.map((x) => x.cpu_ms_per_request)), Math.max(...rs.map((x) => x.cpu_ms_per_request))],
      cpu_spread: round(spread(rs.map((x) => x.cpu_ms_per_request))),
      net_cpu_ms_per_request: median(rs.map((x) => x.net_cpu_ms_per_request)),
      p50_ms: median(rs.map((x) => x.p50_ms)),
    }));
    const idleMsPerSecond = idle.map((x) => round(x / 1000, 2));
    const result = { machine: { ...where, loadavg_after: (await machine(api.admin)).loadavg_1_5_15 }, rounds: ROUNDS, requests_per_shape: REQUESTS, idle_cpu_ms_per_second: idleMsPerSecond, shapes };
    out('| Shape | Body bytes | Status | Answer bytes | CPU ms/request (median, range) | less idle | p50 ms |');
    out('|---|---|---|---|---|---|---|');
    for (const s of shapes) {
      out(`| ${s.shape} | ${s.body_bytes} | ${s.status} | ${s.answer_bytes} | ${s.cpu_ms_per_request} (${s.cpu_ms_range.join('-')}) | ${s.net_cpu_ms_per_request} | ${s.p50_ms} |`);
    }
    out(`worst: ${Math.max(...shapes.map((s) => s.cpu_ms_per_request))} ms CPU per request; machine ${JSON.stringify(result.machine)}`);
    mkdirSync(join(ROOT, 'bench/results/partial'), { recursive: true });
    const file = join(ROOT, 'bench/results/partial', `refusal-cost-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    out(`written to ${file}`);
  } finally {
    await api.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});

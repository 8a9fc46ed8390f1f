#!/usr/bin/env node
// The benchmark harness of issue 4: the API against a bare baseline on the same
// machine, the same database, in the same run, interleaved (A, B, A, B).
//
//   node bench/run.mjs             the eight scenarios and the login ceiling (about 12 minutes)
//   node bench/run.mjs --quick     every scenario for a couple of seconds on small data; exits 1
//                                  if anything failed (errors, non-2xx, a response that differs)
//   node bench/run.mjs --scaling   scenarios 2 and 3 at 10,000, 100,000 and 1,000,000 patients
//
// Options: --only=1,4,8 (scenarios), --no-build, --keep-db, --runs=N, --seconds=S, --warmup=S,
// --profile (both servers sample themselves with the V8 profiler; one .cpuprofile per scenario
// and server in bench/results/profiles; the figures of such a run are not comparable),
// --throttle (rate limiters on, with limits no run reaches; off by default, see bench/README.md),
// --redis=<url> (with --throttle: the API's counters in that Redis), --instances=N (the API as N
// instances behind HAProxy), --private-pg (a PostgreSQL primary of the bench's own, initdb in a
// temporary directory) and --replica (that primary plus a streaming standby the API reads lists from).
// DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) names the server; the
// harness works in a database of its own (hc_bench, or hc_bench_quick) that it creates and drops.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { hashSync, verify as verifyAsync, verifySync } from '@node-rs/argon2';
import {
  connect,
  cursorNearEnd,
  databaseUrl,
  dropDatabase,
  recreateDatabase,
  seedDoctors,
  seedPatients,
  vacuumAnalyze,
  withIndexesRebuilt,
  writeIds,
} from './lib/data.mjs';
import { probeFixedRate } from './lib/probe.mjs';

/** The node flags of package.json's start:prod script (e.g. the V8 heap limits), so the bench runs the API as production does. */
function startProdNodeArgs() {
  const script = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts['start:prod'] ?? '';
  return script.split(/\s+/).filter((arg) => arg.startsWith('--'));
}
import {
  childrenCpu,
  cpuMicros,
  findPostmaster,
  machineBusyMicros,
  peakRssMb,
  pgBackendCpu,
  pgCpuBetween,
  resetPeakRss,
  rssMb,
  selfAndChildrenMicros,
} from './lib/procstat.mjs';
import { markdownTable, svgChart, textTable } from './lib/report.mjs';
import { BenchCluster } from './lib/pgcluster.mjs';
import { startServer } from './lib/servers.mjs';
import { freePort, median, out, round, sleep, spread, warn } from './lib/util.mjs';
import { ensureWrk, killWrk, runWrk } from './lib/wrk.mjs';

const BENCH = import.meta.dirname;
const ROOT = dirname(BENCH);
const LUA = join(BENCH, 'lua');
const RESULTS = join(BENCH, 'results');

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scaling: { type: 'boolean', default: false },
    only: { type: 'string' },
    build: { type: 'boolean', default: true },
    'no-build': { type: 'boolean', default: false },
    'keep-db': { type: 'boolean', default: false },
    runs: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    profile: { type: 'boolean', default: false },
    throttle: { type: 'boolean', default: false },
    // With --throttle: the API's counters in this Redis (the baseline keeps its in-memory counter).
    redis: { type: 'string' },
    // The API as this many instances behind HAProxy (deploy/haproxy.cfg); its CPU and RSS are theirs and HAProxy's together.
    instances: { type: 'string' },
    // A PostgreSQL primary of the bench's own (initdb in a temporary directory) instead of DATABASE_URL's.
    'private-pg': { type: 'boolean', default: false },
    // --private-pg plus a streaming standby (pg_basebackup -R) given to the API as DATABASE_REPLICA_URLS.
    replica: { type: 'boolean', default: false },
  },
  strict: true,
});

const QUICK = opts.quick;
/** Sizes of the data and of the runs. The full figures are the issue's. */
const CONFIG = QUICK
  ? {
      ownerPatients: 2_000,
      otherPatients: 2_000,
      doctors: 500,
      warmup: 0,
      runs: 1,
      seconds: 2,
      probeRate: 100,
      probeSeconds: 2,
      verifySamples: 3,
      scalingSizes: [1_000, 4_000],
      scalingOthers: 1_000,
      seqStride: 50_000,
    }
  : {
      ownerPatients: 100_000,
      otherPatients: 100_000, // for each of two other users: 300,000 rows in all
      doctors: 10_000,
      warmup: 5,
      runs: 3,
      seconds: 10,
      probeRate: 200,
      probeSeconds: 10,
      verifySamples: 15,
      scalingSizes: [10_000, 100_000, 1_000_000],
      scalingOthers: 100_000,
      seqStride: 500_000,
    };
if (opts.runs) CONFIG.runs = Number(opts.runs);
if (opts.seconds) CONFIG.seconds = Number(opts.seconds);
if (opts.warmup) CONFIG.warmup = Number(opts.warmup);
const ONLY = opts.only ? new Set(opts.only.split(',').map(Number)) : null;
const MODE = QUICK ? 'quick' : opts.scaling ? 'scaling' : 'full';
/** A run with other settings than the standard ones writes to results/partial/, never over latest.json. */
const INSTANCES = Math.max(1, Number(opts.instances ?? 1) || 1);
const PRIVATE_PG = opts['private-pg'] || opts.replica;
const PARTIAL =
  !QUICK && Boolean(opts.only || opts.profile || opts.throttle || opts.runs || opts.seconds || opts.warmup || INSTANCES > 1 || PRIVATE_PG);

// Reassigned in main() when the bench brings its own PostgreSQL (--private-pg, --replica).
let ADMIN_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const DB_NAME = process.env.BENCH_DATABASE || (QUICK ? 'hc_bench_quick' : 'hc_bench');
let DB_URL = databaseUrl(ADMIN_URL, DB_NAME);
const JWT_SECRET = randomBytes(48).toString('base64url');
const PASSWORD = `bench-${randomBytes(18).toString('base64url')}-Quartz`;
/** argon2id as src/auth/password-hasher.ts sets it (OWASP: 19 MiB, t=2, p=1). */
const ARGON2 = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 };

const SCENARIOS = [
  { id: 1, name: '1 GET /api/patients/{id}/', script: 's1-get-patient.lua', connections: 32, target: 0.5 },
  { id: 2, name: '2 GET /api/patients/ first page', script: 's2-list.lua', connections: 32, target: 0.5 },
  { id: 3, name: '3 GET /api/patients/ page near the end', script: 's2-list.lua', connections: 32, target: 0.5, cursor: true },
  { id: 4, name: '4 POST /api/patients/', script: 's4-post-patient.lua', connections: 32, target: 0.45 },
  { id: 5, name: '5 GET /api/doctors/?search=card', script: 's5-doctors.lua', connections: 32, target: 0.5 },
  { id: 6, name: '6 POST /api/mappings/ (fresh pairs)', script: 's6-mapping.lua', connections: 32, target: 0.45 },
  { id: 7, name: '7 POST /api/auth/login/ (8 conns)', script: 's7-login.lua', connections: 8, target: null },
  { id: 8, name: '8 mix 70/20/9/1 of 1/2/4/7', script: 's8-mix.lua', connections: 32, target: 0.5 },
];

// ---- State that cleanup() undoes --------------------------------------------

const work = mkdtempSync(join(tmpdir(), 'hc-bench-'));
const servers = [];
let admin = null;
let db = null;
let databaseMade = false;
let cleaning = null;
/** --private-pg / --replica: the bench's own servers ({ primary, standby? }), removed by cleanup(). */
const clusters = {};
/** --replica: a superuser session on the standby (to wait for its replay). */
let standbyAdmin = null;

/** Stops everything the run started and drops its database; every caller gets the same promise. */
function cleanup() {
  cleaning ??= (async () => {
    killWrk();
    for (const s of servers) await s.stop().catch(() => {});
    await db?.end().catch(() => {});
    if (databaseMade && !opts['keep-db']) {
      await dropDatabase(admin, DB_NAME).catch((e) => warn(`could not drop ${DB_NAME}: ${e.message}`));
    }
    await admin?.end().catch(() => {});
    await standbyAdmin?.end().catch(() => {});
    for (const cluster of [clusters.standby, clusters.primary]) cluster?.destroy();
    if (!opts['keep-db']) rmSync(work, { recursive: true, force: true });
  })();
  return cleaning;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    warn(`\n${signal}: stopping the servers and dropping ${DB_NAME}`);
    cleanup().finally(() => process.exit(130));
  });
}
process.on('uncaughtException', (error) => {
  warn(`\nbenchmark failed: ${error?.stack ?? error}`);
  cleanup().finally(() => process.exit(1));
});

// ---- HTTP helpers ----------------------------------------------------------

async function call(port, method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // Left null: the caller reports the status.
  }
  return { status: res.status, json, text };
}

async function register(port, username) {
  const r = await call(port, 'POST', '/api/auth/register/', {
    body: { username, email: `${username}@bench.example`, password: PASSWORD },
  });
  if (r.status !== 201) throw new Error(`register ${username}: ${r.status} ${r.text}`);
  return r.json.id;
}

async function login(port, username) {
  const r = await call(port, 'POST', '/api/auth/login/', { body: { username, password: PASSWORD } });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${r.text}`);
  return r.json.access;
}

// ---- Checks before timing: both servers answer the scenario's request, with the same JSON ----

const sameKeys = (a, b) => isDeepStrictEqual(Object.keys(a ?? {}).sort(), Object.keys(b ?? {}).sort());

/** Compares the two servers' answers to one request of the scenario; returns the problems found. */
async function crossCheck(scenario, ctx, api, base) {
  const problems = [];
  const both = async (method, path, options) => [await call(api.port, method, path, options), await call(base.port, method, path, options)];
  const expect = (label, [a, b], status) => {
    if (a.status !== status) problems.push(`${label}: API answered ${a.status}, expected ${status}: ${a.text.slice(0, 200)}`);
    if (b.status !== status) problems.push(`${label}: baseline answered ${b.status}, expected ${status}: ${b.text.slice(0, 200)}`);
    return a.status === status && b.status === status;
  };
  const owner = { token: ctx.tokens.owner };
  switch (scenario.id) {
    case 1: {
      const r = await both('GET', `/api/patients/${ctx.patientIds[0]}/`, owner);
      if (expect('GET patient', r, 200) && !isDeepStrictEqual(r[0].json, r[1].json)) problems.push('GET patient: bodies differ');
      break;
    }
    case 2:
    case 3: {
      const path = `/api/patients/?page_size=20${scenario.cursor ? `&cursor=${ctx.cursor}` : ''}`;
      const r = await both('GET', path, owner);
      if (expect('list', r, 200)) {
        if (!isDeepStrictEqual(r[0].json.results, r[1].json.results)) problems.push('list: results differ');
        if (r[0].json.results.length !== 20) problems.push(`list: ${r[0].json.results.length} results, expected 20`);
        for (const k of ['next', 'previous']) {
          if ((r[0].json[k] === null) !== (r[1].json[k] === null)) problems.push(`list: ${k} differs`);
        }
        // Each server must read the other's cursor: they are the same list.
        if (r[0].json.next) {
          const cursor = new URL(r[0].json.next).searchParams.get('cursor');
          const x = await call(base.port, 'GET', `/api/patients/?page_size=20&cursor=${cursor}`, owner);
          if (x.status !== 200) problems.push(`list: the baseline refused the API's cursor (${x.status})`);
        }
      }
      break;
    }
    case 4:
    case 8: {
      const body = { name: 'Cross Check', age: 42, gender: 'Female', address: '1 Check Road' };
      const r = await both('POST', '/api/patients/', { token: ctx.tokens.writer, body });
      if (expect('POST patient', r, 201)) {
        if (!sameKeys(r[0].json, r[1].json)) problems.push('POST patient: keys differ');
        for (const k of ['name', 'age', 'gender', 'address']) {
          if (r[0].json[k] !== r[1].json[k]) problems.push(`POST patient: ${k} differs`);
        }
      }
      break;
    }
    case 5: {
      const r = await both('GET', '/api/doctors/?search=card&page_size=20', owner);
      if (expect('doctors', r, 200)) {
        if (!isDeepStrictEqual(r[0].json.results, r[1].json.results)) problems.push('doctors: results differ');
        if (r[0].json.results.length !== 20) problems.push(`doctors: ${r[0].json.results.length} results, expected 20`);
      }
      break;
    }
    case 6: {
      // The last pairs of the sequence space, which the runs never reach.
      const p = ctx.patientIds;
      const d = ctx.doctorIds;
      const a = await call(api.port, 'POST', '/api/mappings/', { ...owner, body: { patient: p.at(-1), doctor: d.at(-1) } });
      const b = await call(base.port, 'POST', '/api/mappings/', { ...owner, body: { patient: p.at(-2), doctor: d.at(-1) } });
      if (expect('POST mapping', [a, b], 201) && !sameKeys(a.json, b.json)) problems.push('POST mapping: keys differ');
      // The same pair again: a conflict on both.
      const again = await both('POST', '/api/mappings/', { ...owner, body: { patient: p.at(-1), doctor: d.at(-1) } });
      expect('POST mapping twice', again, 409);
      break;
    }
    case 7: {
      const r = await both('POST', '/api/auth/login/', { body: { username: 'bench_login', password: PASSWORD } });
      if (expect('login', r, 200)) {
        if (!sameKeys(r[0].json, r[1].json)) problems.push('login: keys differ');
        // One secret, one sessions table: each server's token works on the other.
        const path = '/api/patients/?page_size=1';
        const x = await call(api.port, 'GET', path, { token: r[1].json.access });
        const y = await call(base.port, 'GET', path, { token: r[0].json.access });
        if (x.status !== 200 || y.status !== 200) problems.push(`login: tokens are not accepted across the servers (baseline's on the API: ${x.status} ${x.text.slice(0, 160)}; API's on the baseline: ${y.status} ${y.text.slice(0, 160)})`);
      }
      break;
    }
  }
  return problems;
}

// ---- Measuring ----------------------------------------------------------------

let seq = 0;

function scenarioEnv(scenario, ctx) {
  return {
    BENCH_LUA_DIR: LUA,
    BENCH_PATIENT_IDS: ctx.patientIdsFile,
    BENCH_DOCTOR_IDS: ctx.doctorIdsFile,
    BENCH_OWNER_TOKEN: ctx.tokens.owner,
    BENCH_WRITER_TOKEN: ctx.tokens.writer,
    BENCH_LOGIN_BODY: JSON.stringify({ username: 'bench_login', password: PASSWORD }),
    BENCH_CURSOR: scenario.cursor ? ctx.cursor : '',
    BENCH_SEQ_BASE: String(seq++ * CONFIG.seqStride),
  };
}

/** One wrk run against one server, with the server's and PostgreSQL's CPU and the server's peak RSS around it. */
async function measure(server, scenario, ctx, seconds) {
  const env = scenarioEnv(scenario, ctx);
  // Several instances behind HAProxy: their processes and HAProxy's count together.
  const pids = server.pids ?? [server.pid];
  const cpuOf = () => sumOrNull(pids.map(cpuMicros));
  const rssOf = () => pids.reduce((sum, pid) => sum + rssMb(pid), 0);
  const lb0 = server.lbPid ? cpuMicros(server.lbPid) : null;
  const cpu0 = cpuOf();
  const db0 = await pgBackendCpu(admin, DB_NAME, ctx.postmaster);
  const replica0 = await replicationCpu(ctx);
  if (ctx.pgss) await db.query('SELECT pg_stat_statements_reset()');
  const peakReset = pids.length === 1 && resetPeakRss(server.pid);
  const busy0 = machineBusyMicros();
  const self0 = selfAndChildrenMicros();
  const wall0 = performance.now();
  let sampled = rssOf();
  const sampler = setInterval(() => (sampled = Math.max(sampled, rssOf())), 200);
  let r;
  try {
    r = await runWrk({ port: server.port, script: join(LUA, scenario.script), connections: scenario.connections, threads: 2, seconds, env });
  } finally {
    clearInterval(sampler);
  }
  const cpu1 = cpuOf();
  const lb1 = server.lbPid ? cpuMicros(server.lbPid) : null;
  const busy1 = machineBusyMicros();
  const self1 = selfAndChildrenMicros();
  const wallUs = (performance.now() - wall0) * 1000;
  const db1 = await pgBackendCpu(admin, DB_NAME, ctx.postmaster);
  const replicaUs = replica0 ? pgCpuBetween(replica0, await replicationCpu(ctx)) : 0;
  const dbUs = db1.size > 0 ? pgCpuBetween(db0, db1) + replicaUs : 0;
  if (!server.alive) throw new Error(`${server.name} died during scenario ${scenario.id}; see ${server.logFile}`);
  const n = Math.max(1, r.requests);
  const statements = ctx.pgss ? await topStatements(n) : undefined;
  return {
    ...r,
    ...(statements ? { statements } : {}),
    cpu_us_per_req: cpu0 !== null && cpu1 !== null ? (cpu1 - cpu0) / n : null,
    ...(lb0 !== null && lb1 !== null ? { lb_cpu_us_per_req: (lb1 - lb0) / n } : {}),
    db_cpu_us_per_req: db1.size > 0 ? dbUs / n : null,
    ...(replica0 ? { replica_cpu_us_per_req: replicaUs / n } : {}),
    peak_rss_mb: Math.max(sampled, peakReset ? peakRssMb(server.pid) : 0),
    // Load from anything but this run (other processes on the machine), in percent of one core:
    // the machine's busy time less the server, its PostgreSQL backends, wrk and the harness.
    other_cpu_pct: Math.max(0, ((busy1 - busy0 - (cpu1 - cpu0) - dbUs - (self1 - self0)) / wallUs) * 100),
  };
}

/**
 * With pg_stat_statements loaded (shared_preload_libraries; track_planning on
 * shows planning too): the statements of the run, per request of the run.
 */
async function topStatements(requests) {
  const { rows } = await db.query(
    `SELECT query, calls, total_exec_time, total_plan_time, plans
       FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND query NOT LIKE '%pg_stat_statements%'
      ORDER BY total_exec_time + total_plan_time DESC LIMIT 6`,
  );
  return rows.map((r) => ({
    query: r.query.replace(/\s+/g, ' ').slice(0, 160),
    calls_per_req: round(Number(r.calls) / requests, 3),
    exec_us_per_call: round((r.total_exec_time * 1000) / Number(r.calls), 1),
    plans_per_call: round(Number(r.plans) / Number(r.calls), 3),
    plan_us_per_call: round((r.total_plan_time * 1000) / Math.max(1, Number(r.plans)), 1),
  }));
}

function summarize(runs) {
  return {
    rps: round(median(runs.map((r) => r.rps)), 1),
    p50_ms: round(median(runs.map((r) => r.p50_ms)), 2),
    p99_ms: round(median(runs.map((r) => r.p99_ms)), 2),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    non_2xx: runs.reduce((s, r) => s + r.non_2xx, 0),
    peak_rss_mb: round(Math.max(...runs.map((r) => r.peak_rss_mb)), 1),
    cpu_us_per_req: round(median(runs.map((r) => r.cpu_us_per_req)), 1),
    db_cpu_us_per_req: round(median(runs.map((r) => r.db_cpu_us_per_req)), 1),
    ...(runs[0]?.replica_cpu_us_per_req !== undefined ? { replica_cpu_us_per_req: round(median(runs.map((r) => r.replica_cpu_us_per_req)), 1) } : {}),
  };
}

/** Warm-up (A then B), then runs interleaved A, B, A, B, ... so drift on the machine hits both alike. */
async function runScenario(scenario, ctx, api, base) {
  const runs = { api: [], baseline: [] };
  const warmup = { api: null, baseline: null };
  if (CONFIG.warmup > 0) {
    warmup.api = await measure(api, scenario, ctx, CONFIG.warmup);
    warmup.baseline = await measure(base, scenario, ctx, CONFIG.warmup);
  }
  for (let i = 0; i < CONFIG.runs; i++) {
    runs.api.push(await measure(api, scenario, ctx, CONFIG.seconds));
    runs.baseline.push(await measure(base, scenario, ctx, CONFIG.seconds));
  }
  return { runs, warmup };
}

function progress(label, r) {
  out(
    `  ${label.padEnd(9)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50_ms.toFixed(2)} ms  p99 ${r.p99_ms.toFixed(2)} ms  ` +
      `app ${r.cpu_us_per_req?.toFixed(0) ?? '-'} µs/req${r.lb_cpu_us_per_req !== undefined ? ` (HAProxy ${r.lb_cpu_us_per_req.toFixed(0)})` : ''}  db ${r.db_cpu_us_per_req?.toFixed(0) ?? '-'}${r.replica_cpu_us_per_req !== undefined ? ` (replica ${r.replica_cpu_us_per_req.toFixed(0)})` : ''} µs/req  ` +
      `rss ${r.peak_rss_mb.toFixed(0)} MB  errors ${r.errors}  non-2xx ${r.non_2xx}  other load ${r.other_cpu_pct.toFixed(0)}%`,
  );
}

/**
 * One argon2id verify with the API's parameters, here and now: the CPU time
 * it takes (process.cpuUsage, so other load on the machine does not inflate
 * it), median of several, and the wall time beside it.
 */
function argon2Verify(samples) {
  const stored = hashSync('correct horse battery staple', ARGON2);
  const cpu = [];
  const wall = [];
  for (let i = 0; i < samples; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    verifySync(stored, 'correct horse battery staple');
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { cpuMs: median(cpu), wallMs: median(wall), stored };
}

/**
 * The CPU one verify costs when several run at once on libuv's threadpool, as
 * in a server under a login storm: more than alone, since each of them maps
 * and faults in its own 19 MiB.
 */
async function argon2ConcurrentCpuMs(stored, count) {
  const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: count }, () => verifyAsync(stored, 'correct horse battery staple')));
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / count;
}

// ---- Setup ----------------------------------------------------------------

function build() {
  out('building the API (npm run build:api)');
  try {
    execFileSync('npm', ['run', 'build:api', '--silent'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    warn(String(error.stdout ?? ''));
    warn(String(error.stderr ?? ''));
    throw new Error('npm run build:api failed', { cause: error });
  }
}

/** Which API was measured: the commit, and the files of src/ and migrations/ changed since it (work in progress). */
function apiSource() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--', 'src', 'migrations'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean).length;
    return { commit, uncommitted_files: changed };
  } catch {
    return null;
  }
}

async function machineInfo() {
  const { rows } = await admin.query('SHOW server_version');
  return {
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model?.trim() ?? 'unknown',
    node: process.version,
    postgres: `PostgreSQL ${rows[0].server_version.split(' ')[0]}`,
  };
}

async function startServers(ctx) {
  const common = {
    ...process.env,
    NODE_ENV: 'production',
    JWT_SECRET,
    MFA_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    AUDIT_CHAIN_KEY: randomBytes(48).toString('base64url'),
    LOG_LEVEL: 'warn',
    DATABASE_URL: DB_URL,
    HOST: '127.0.0.1',
    DB_POOL_SIZE: '10',
    // One user sends every request, thousands a second: any real per-user limit would answer 429.
    // Off by default on both servers; --throttle turns them on with limits no run reaches (their
    // in-memory store then grows with every hit of the last minute: see bench/README.md).
    THROTTLE_ENABLED: opts.throttle ? 'true' : 'false',
    USER_RATE_LIMIT: '1000000000',
    AUTH_RATE_LIMIT: '1000000000',
    // One bench user drives each scenario from many connections: its per-user bounds are raised likewise.
    SEARCH_CONCURRENCY_PER_USER: '1024',
    PASSWORD_HASH_PER_ACCOUNT: '1024',
  };
  delete common.NODE_OPTIONS;
  // Counters in process memory on both servers (the API's default): no Redis round trip in the figures,
  // unless --redis=<url> puts the API's there.
  delete common.REDIS_URL;
  if (INSTANCES > 1) return { api: await startInstances(common, ctx), common };
  const apiPort = await freePort();
  const api = await startServer({
    name: 'API',
    cwd: ROOT,
    // As `npm run start:prod` starts it (its node flags: the heap limits), plus any given for an experiment.
    args: [...profilerArgs(), ...startProdNodeArgs(), ...(process.env.BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean), 'dist/src/main.js'],
    env: { ...common, PORT: String(apiPort), DB_MIGRATE_ON_START: 'true', ...replicaEnv(), ...(opts.redis ? { REDIS_URL: opts.redis } : {}), ...profilerEnv('api') },
    port: apiPort,
    logFile: join(ctx.work, 'api.log'),
    ipc: opts.profile,
    readyPath: '/health/ready',
  });
  servers.push(api);
  return { api, common };
}

/** --instances=N: N APIs as `start:prod` runs them, and HAProxy with deploy/haproxy.cfg in front; one server to measure. */
async function startInstances(common, ctx) {
  if (INSTANCES > 3) throw new Error('--instances: deploy/haproxy.cfg names at most 3 instances');
  const instances = [];
  for (let i = 1; i <= INSTANCES; i++) {
    const port = await freePort();
    const instance = await startServer({
      name: `API ${i}`,
      cwd: ROOT,
      args: [...startProdNodeArgs(), 'dist/src/main.js'],
      // The first migrates; the others find the schema current (under the same advisory lock either way).
      env: { ...common, PORT: String(port), DB_MIGRATE_ON_START: 'true', TRUST_PROXY: '127.0.0.1', ...replicaEnv(), ...(opts.redis ? { REDIS_URL: opts.redis } : {}) },
      port,
      logFile: join(ctx.work, `api-${i}.log`),
      readyPath: '/health/ready',
    });
    servers.push(instance);
    instances.push(instance);
  }
  const lbPort = await freePort();
  const lbEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HC_LISTEN: `127.0.0.1:${lbPort}` };
  instances.forEach((instance, i) => (lbEnv[`HC_API_${i + 1}`] = `127.0.0.1:${instance.port}`));
  const lb = await startServer({
    name: 'HAProxy',
    command: 'haproxy',
    args: ['-db', '-f', join(ROOT, 'deploy', 'haproxy.cfg')],
    env: lbEnv,
    port: lbPort,
    logFile: join(ctx.work, 'haproxy.log'),
    readyPath: '/health/ready',
  });
  servers.push(lb);
  return {
    name: `API x${INSTANCES} + HAProxy`,
    port: lbPort,
    pid: instances[0].pid,
    pids: [...instances.map((instance) => instance.pid), lb.pid],
    lbPid: lb.pid,
    logFile: instances[0].logFile,
    get alive() {
      return lb.alive && instances.every((instance) => instance.alive);
    },
    async stop() {
      await lb.stop();
      await Promise.all(instances.map((instance) => instance.stop()));
    },
  };
}

/** --private-pg / --replica: the bench's own primary (and standby); the run's URLs then name them. */
async function startClusters() {
  clusters.primary = await BenchCluster.primary();
  ADMIN_URL = clusters.primary.url;
  DB_URL = databaseUrl(ADMIN_URL, DB_NAME);
  if (!opts.replica) return;
  // Made before the database exists: CREATE DATABASE, the migrations and the seeding stream to it.
  clusters.standby = await clusters.primary.standby();
  standbyAdmin = await connect(clusters.standby.url);
}

/** The API's replica (--replica); the baseline, a bare server, reads from the primary. */
const replicaEnv = () => (clusters.standby ? { DATABASE_REPLICA_URLS: databaseUrl(clusters.standby.url, DB_NAME) } : {});

/**
 * --replica: what replication costs beyond the primary's backends, by pid: every process of the
 * standby (WAL replay, the WAL receiver, the API's read sessions) and the primary's WAL senders.
 */
async function replicationCpu(ctx) {
  if (!clusters.standby) return null;
  const cpu = childrenCpu(ctx.standbyPostmaster);
  const { rows } = await admin.query("SELECT pid FROM pg_stat_activity WHERE backend_type = 'walsender'");
  for (const { pid } of rows) {
    const us = cpuMicros(pid);
    if (us !== null) cpu.set(`w${pid}`, us);
  }
  return cpu;
}

/** --replica: the standby has replayed the seeding, and the API counts it as up (else every read goes to the primary). */
async function replicaReady(api) {
  await BenchCluster.caughtUp(admin, standbyAdmin);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${api.port}/health/ready`).catch(() => null);
    const body = res ? await res.json().catch(() => ({})) : {};
    const replicas = body?.info?.replicas?.replicas ?? [];
    if (replicas.length > 0 && replicas.every((r) => r.status === 'up')) return replicas;
    if (Date.now() > deadline) throw new Error(`--replica: the API does not see its replica up: ${JSON.stringify(replicas)}`);
    await sleep(250);
  }
}

const sumOrNull = (values) => (values.some((v) => v === null) ? null : values.reduce((a, b) => a + b, 0));

async function startBaseline(ctx, common) {
  const port = await freePort();
  const base = await startServer({
    name: 'baseline',
    cwd: ROOT,
    args: [...profilerArgs(), ...(process.env.BENCH_BASELINE_NODE_ARGS ?? '').split(' ').filter(Boolean), join(BENCH, 'baseline', 'server.mjs')],
    env: { ...common, PORT: String(port), ...profilerEnv('baseline') },
    port,
    logFile: join(ctx.work, 'baseline.log'),
    ipc: opts.profile,
    readyPath: '/health',
  });
  servers.push(base);
  return base;
}

// ---- Profiles (--profile) -------------------------------------------------

const PROFILES = join(RESULTS, 'profiles');
const profilerArgs = () => (opts.profile ? ['--import', join(BENCH, 'tools', 'cpu-profile.mjs')] : []);
const profilerEnv = (name) => (opts.profile ? { PROFILE_DIR: PROFILES, PROFILE_NAME: name } : {});
const profileCount = new Map();

/** Ends a server's current profile: kept as <name>-<label>.cpuprofile, or discarded when label is null. */
async function cutProfile(server, label) {
  if (!opts.profile) return;
  const name = server.name === 'API' ? 'api' : 'baseline';
  const n = profileCount.get(name) ?? 0;
  profileCount.set(name, n + 1);
  const file = join(PROFILES, `${name}-${n}.cpuprofile`);
  server.send('cut-profile');
  for (let i = 0; i < 100 && !existsSync(file); i++) await sleep(100);
  if (!existsSync(file)) throw new Error(`${server.name} wrote no profile`);
  if (label === null) rmSync(file);
  else renameSync(file, join(PROFILES, `${name}-${label}.cpuprofile`));
}

async function timed(label, fn) {
  const t0 = Date.now();
  const result = await fn();
  out(`${label} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return result;
}

// ---- Main -----------------------------------------------------------------

async function main() {
  const startedAt = new Date().toISOString();
  const t0 = Date.now();
  if (opts.profile) out('--profile: both servers run under the V8 sampling profiler; these figures are not comparable to others');
  out(`healthcare API benchmark, mode ${MODE}: ${CONFIG.runs} run(s) of ${CONFIG.seconds} s per server and scenario, warm-up ${CONFIG.warmup} s`);
  ensureWrk();
  if (opts.build && !opts['no-build']) await timed('built', async () => build());

  if (PRIVATE_PG) await timed(opts.replica ? 'own PostgreSQL primary and streaming standby started' : 'own PostgreSQL started', startClusters);
  admin = await connect(ADMIN_URL);
  const machine = await machineInfo();
  out(`machine: ${machine.cpus} CPUs, ${machine.cpu_model}, Node ${machine.node}, ${machine.postgres}`);
  await recreateDatabase(admin, DB_NAME);
  databaseMade = true;
  db = await connect(DB_URL);

  const ctx = { work, postmaster: await findPostmaster(admin), tokens: {} };
  if (standbyAdmin) ctx.standbyPostmaster = await findPostmaster(standbyAdmin);
  if (!ctx.postmaster) warn('the PostgreSQL server is not on this machine: database CPU is not measured');
  const { api, common } = await timed('API started, migrations applied', () => startServers(ctx));

  const ids = {};
  await timed('users registered through the API', async () => {
    for (const u of ['bench_owner', 'bench_other1', 'bench_other2', 'bench_writer', 'bench_login']) ids[u] = await register(api.port, u);
  });
  await timed(`seeded ${CONFIG.doctors} doctors${MODE === 'scaling' ? '' : `, ${CONFIG.ownerPatients + 2 * CONFIG.otherPatients} patients`}, VACUUM ANALYZE`, async () => {
    await seedDoctors(db, ids.bench_owner, CONFIG.doctors);
    if (MODE !== 'scaling') {
      await withIndexesRebuilt(db, 'patients', async () => {
        await seedPatients(db, ids.bench_owner, CONFIG.ownerPatients, startedAt);
        await seedPatients(db, ids.bench_other1, CONFIG.otherPatients, startedAt);
        await seedPatients(db, ids.bench_other2, CONFIG.otherPatients, startedAt);
      });
    }
    await vacuumAnalyze(db);
  });
  const base = await timed('baseline started', () => startBaseline(ctx, common));
  if (clusters.standby) {
    const replicas = await timed('standby caught up, seen up by the API', () => replicaReady(api));
    out(`replica: ${replicas.map((r) => `${r.name} ${r.status}, lag ${r.lag_ms} ms`).join('; ')} (lists and searches read there)`);
  }
  const idleRss = { api: round(rssMb(api.pid), 1), baseline: round(rssMb(base.pid), 1) };
  out(`RSS after start, before any load: API ${idleRss.api} MB, baseline ${idleRss.baseline} MB`);

  ctx.pgss = await db
    .query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
    .then(() => db.query('SELECT count(*) FROM pg_stat_statements'))
    .then(() => true)
    .catch(() => false);
  out(`pg_stat_statements: ${ctx.pgss ? 'loaded: each run records its statements' : 'not loaded (shared_preload_libraries): SQL statistics not recorded'}`);

  ctx.doctorIdsFile = join(work, 'doctor-ids.txt');
  ctx.doctorIds = await writeIds(db, ctx.doctorIdsFile, 'SELECT id FROM doctors ORDER BY created_at');
  ctx.patientIdsFile = join(work, 'patient-ids.txt');

  const failures = [];
  const source = apiSource();
  if (source) out(`API source: commit ${source.commit}, ${source.uncommitted_files} uncommitted file(s) in src/ and migrations/`);
  const detail = { mode: MODE, started_at: startedAt, api_source: source, config: CONFIG, machine, idle_rss_mb: idleRss, scenarios: [], login: null, scaling: [] };
  if (MODE !== 'scaling') {
    ctx.patientIds = await writeIds(db, ctx.patientIdsFile, 'SELECT id FROM patients WHERE owner_id = $1', [ids.bench_owner]);
    ctx.cursor = await cursorNearEnd(db, ids.bench_owner, JWT_SECRET, 40);

    const verify = argon2Verify(CONFIG.verifySamples);
    const verifyMs = verify.cpuMs;
    const concurrentMs = await argon2ConcurrentCpuMs(verify.stored, QUICK ? 4 : 16);
    const ceiling = machine.cpus / (verifyMs / 1000);
    out(
      `argon2id verify (19 MiB, t=2, p=1): ${verifyMs.toFixed(1)} ms of CPU (${verify.wallMs.toFixed(1)} ms wall) ` +
        `-> login ceiling ${ceiling.toFixed(1)} req/s on ${machine.cpus} cores; ` +
        `${concurrentMs.toFixed(1)} ms of CPU each when several run at once on the threadpool`,
    );

    const scenarios = [];
    for (const scenario of SCENARIOS) {
      if (ONLY && !ONLY.has(scenario.id)) continue;
      out(`\nscenario ${scenario.name}`);
      // Fresh tokens for each scenario: an access token lives 15 minutes, a full run is longer.
      ctx.tokens = { owner: await login(api.port, 'bench_owner'), writer: await login(api.port, 'bench_writer') };
      const problems = await crossCheck(scenario, ctx, api, base);
      for (const p of problems) warn(`  check failed: ${p}`);
      failures.push(...problems.map((p) => `scenario ${scenario.id}: ${p}`));
      for (const server of [api, base]) await cutProfile(server, null);
      const { runs, warmup } = await runScenario(scenario, ctx, api, base);
      for (const server of [api, base]) await cutProfile(server, `s${scenario.id}`);
      runs.api.forEach((r, i) => {
        progress(`API #${i + 1}`, r);
        progress(`base #${i + 1}`, runs.baseline[i]);
      });
      if (ctx.pgss) printStatements(runs);
      const a = summarize(runs.api);
      const b = summarize(runs.baseline);
      const entry = {
        name: scenario.name,
        api: a,
        baseline: b,
        ratio: round(a.rps / b.rps, 3),
        target: scenario.target,
        api_rps_spread: spread(runs.api.map((r) => r.rps)),
        baseline_rps_spread: spread(runs.baseline.map((r) => r.rps)),
      };
      scenarios.push(entry);
      detail.scenarios.push({ ...entry, connections: scenario.connections, runs, warmup, cross_check_problems: problems });
      const all = [...runs.api, ...runs.baseline, ...Object.values(warmup).filter(Boolean)];
      for (const r of all) {
        if (r.errors > 0 || r.non_2xx > 0 || r.requests === 0) {
          failures.push(`scenario ${scenario.id}: ${r.requests} requests, ${r.errors} socket errors, ${r.non_2xx} non-2xx`);
          break;
        }
      }
    }

    // Login: the ceiling, and scenario 1's p99 at a fixed rate, alone and during a login storm.
    let login7 = null;
    if (!ONLY || ONLY.has(7)) {
      out(`\nscenario 1 at a fixed ${CONFIG.probeRate} req/s for ${CONFIG.probeSeconds} s: alone, then while logins run flat out (8 connections)`);
      ctx.tokens = { owner: await login(api.port, 'bench_owner'), writer: await login(api.port, 'bench_writer') };
      const headers = { Authorization: `Bearer ${ctx.tokens.owner}` };
      const path = () => `/api/patients/${ctx.patientIds[Math.floor(Math.random() * ctx.patientIds.length)]}/`;
      const loginScenario = SCENARIOS.find((s) => s.id === 7);
      const probes = {};
      for (const server of [api, base]) {
        const key = server === api ? 'api' : 'baseline';
        const alone = await probeFixedRate({ port: server.port, path, headers, rate: CONFIG.probeRate, seconds: CONFIG.probeSeconds });
        const storm = runWrk({
          port: server.port,
          script: join(LUA, loginScenario.script),
          connections: loginScenario.connections,
          threads: 2,
          seconds: CONFIG.probeSeconds + 2,
          env: scenarioEnv(loginScenario, ctx),
        });
        await sleep(1000);
        const during = await probeFixedRate({ port: server.port, path, headers, rate: CONFIG.probeRate, seconds: CONFIG.probeSeconds });
        const stormResult = await storm;
        probes[key] = { alone, during, storm: stormResult };
        out(
          `  ${key.padEnd(8)} p99 alone ${alone.p99_ms.toFixed(2)} ms, during logins ${during.p99_ms.toFixed(2)} ms ` +
            `(p50 ${alone.p50_ms.toFixed(2)} / ${during.p50_ms.toFixed(2)} ms; logins ${stormResult.rps.toFixed(1)} req/s)`,
        );
        for (const [label, r] of [['alone', alone], ['during logins', during], ['login storm', stormResult]]) {
          if (r.errors > 0 || r.non_2xx > 0) failures.push(`fixed-rate probe ${key} ${label}: ${r.errors} errors, ${r.non_2xx} non-2xx`);
        }
      }
      const s7 = scenarios.find((s) => s.name.startsWith('7 '));
      login7 = {
        api_rps: s7?.api.rps ?? null,
        ceiling_rps: round(ceiling, 1),
        ratio: s7 ? round(s7.api.rps / ceiling, 3) : null,
        read_p99_alone_ms: round(probes.api.alone.p99_ms, 2),
        read_p99_during_login_ms: round(probes.api.during.p99_ms, 2),
      };
      detail.login = { ...login7, argon2_verify_ms: round(verifyMs, 2), argon2_verify_wall_ms: round(verify.wallMs, 2), argon2_concurrent_verify_cpu_ms: round(concurrentMs, 2), baseline_rps: s7?.baseline.rps ?? null, probes };
    }

    const result = { machine, started_at: startedAt, scenarios: scenarios.map(({ api_rps_spread: _a, baseline_rps_spread: _b, target: _t, ...s }) => s), login: login7, scaling: [] };
    printReport({ ...result, scenarios }, detail);
    if (!QUICK && !PARTIAL) carryScaling(result, machine);
    writeResults(result, { ...result, scenarios }, detail);
  }

  if (MODE === 'scaling' || QUICK) {
    const scaling = await runScaling(ctx, api, base, ids, failures, startedAt);
    detail.scaling = scaling.detail;
    if (MODE === 'scaling' && !PARTIAL) mergeScaling(scaling.entries, machine, detail);
    else if (MODE === 'scaling') {
      mkdirSync(join(RESULTS, 'partial'), { recursive: true });
      writeFileSync(join(RESULTS, 'partial', 'scaling-runs.json'), `${JSON.stringify(detail, null, 2)}\n`);
    }
    else writeFileSync(join(RESULTS, 'quick', 'scaling-runs.json'), `${JSON.stringify(scaling.detail, null, 2)}\n`);
  }

  out(`\ntotal time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  if (failures.length > 0) {
    warn(`\n${failures.length} problem(s):`);
    for (const f of failures) warn(`  ${f}`);
    return 1;
  }
  out(QUICK ? 'quick mode: every scenario completed with no error and no non-2xx answer' : 'no errors');
  return 0;
}

// ---- Scaling: scenarios 2 and 3 as one owner's patients grow ----------------

async function runScaling(ctx, api, base, ids, failures, newest) {
  const entries = [];
  const detail = [];
  const list = SCENARIOS.filter((s) => s.id === 2 || s.id === 3);
  for (const rows of CONFIG.scalingSizes) {
    await timed(`\nscaling: ${rows} patients for the owner (+ ${2 * CONFIG.scalingOthers} of others), VACUUM ANALYZE`, async () => {
      await db.query('TRUNCATE patients CASCADE');
      await withIndexesRebuilt(db, 'patients', async () => {
        await seedPatients(db, ids.bench_owner, rows, newest);
        await seedPatients(db, ids.bench_other1, CONFIG.scalingOthers, newest);
        await seedPatients(db, ids.bench_other2, CONFIG.scalingOthers, newest);
      });
      await vacuumAnalyze(db);
    });
    ctx.cursor = await cursorNearEnd(db, ids.bench_owner, JWT_SECRET, 40);
    ctx.patientIds = [];
    ctx.tokens = { owner: await login(api.port, 'bench_owner'), writer: await login(api.port, 'bench_writer') };
    for (const scenario of list) {
      const problems = await crossCheck(scenario, { ...ctx, patientIds: ['00000000-0000-0000-0000-000000000000'] }, api, base);
      failures.push(...problems.map((p) => `scaling ${rows} scenario ${scenario.id}: ${p}`));
      const { runs } = await runScenario(scenario, ctx, api, base);
      const a = summarize(runs.api);
      const b = summarize(runs.baseline);
      out(`  scenario ${scenario.id}: API p50 ${a.p50_ms} ms (${a.rps} req/s), baseline p50 ${b.p50_ms} ms (${b.rps} req/s)`);
      entries.push({ rows, scenario: scenario.name, p50_ms: a.p50_ms });
      detail.push({ rows, scenario: scenario.name, api: a, baseline: b, runs });
      for (const r of [...runs.api, ...runs.baseline]) {
        if (r.errors > 0 || r.non_2xx > 0 || r.requests === 0) {
          failures.push(`scaling ${rows} scenario ${scenario.id}: ${r.errors} errors, ${r.non_2xx} non-2xx`);
          break;
        }
      }
    }
  }
  for (const s of list) {
    const [small, large] = [entries.find((e) => e.scenario === s.name && e.rows === CONFIG.scalingSizes[0]), entries.findLast((e) => e.scenario === s.name)];
    if (small && large) out(`  scenario ${s.id}: p50 at ${large.rows} rows / p50 at ${small.rows} rows = ${(large.p50_ms / small.p50_ms).toFixed(2)} (target ≤ 1.3)`);
  }
  return { entries, detail };
}

// ---- Output ---------------------------------------------------------------

function printStatements(runs) {
  for (const [label, list] of [['API', runs.api], ['baseline', runs.baseline]]) {
    const last = list.at(-1)?.statements ?? [];
    out(`  ${label} statements (last run, pg_stat_statements):`);
    for (const st of last.slice(0, 4)) {
      out(
        `    ${st.calls_per_req.toFixed(2)}/req  exec ${st.exec_us_per_call} µs  planned ${st.plans_per_call.toFixed(2)}x/call ` +
          `${st.plan_us_per_call} µs  ${st.query.slice(0, 90)}`,
      );
    }
  }
}

function printReport(shown, detail) {
  out(`\n${textTable(shown)}`);
  out(
    '\nratio = API req/s / baseline req/s (medians); CPU ratio = baseline / API CPU per request (server + PostgreSQL);\n' +
      '± is half the spread of the runs; errors = socket errors + non-2xx',
  );
  if (shown.login) {
    const l = shown.login;
    out(
      `login: ${l.api_rps} req/s against a ceiling of ${l.ceiling_rps} (cores / one argon2 verify of ${detail.login.argon2_verify_ms} ms) = ${l.ratio} (target ≥ 0.9); ` +
        `scenario 1 p99 at ${CONFIG.probeRate} req/s: ${l.read_p99_alone_ms} ms alone, ${l.read_p99_during_login_ms} ms during logins ` +
        `= ${(l.read_p99_during_login_ms / l.read_p99_alone_ms).toFixed(2)}x (target ≤ 2x)`,
    );
  }
  const others = detail.scenarios.flatMap((s) => [...s.runs.api, ...s.runs.baseline].map((r) => r.other_cpu_pct));
  const otherLoad = median(others);
  detail.other_load_pct_median = round(otherLoad, 0);
  if (otherLoad > 15) {
    out(
      `note: other processes kept ${otherLoad.toFixed(0)}% of a core busy during the runs (median): req/s and latencies ` +
        'are noisy; the CPU figures (and the CPU ratio) much less so',
    );
  }
  const rss = Math.max(...shown.scenarios.map((s) => s.api.peak_rss_mb));
  out(`API peak RSS ${rss} MB (target ≤ 256 MB)`);
}

function carryScaling(result, machine) {
  // A plain run keeps the last --scaling figures (taken on the same machine), so the file stays whole.
  const file = join(RESULTS, 'latest.json');
  if (!existsSync(file)) return;
  try {
    const previous = JSON.parse(readFileSync(file, 'utf8'));
    if (isDeepStrictEqual(previous.machine, machine)) result.scaling = previous.scaling ?? [];
  } catch {
    // An unreadable previous file has nothing worth keeping.
  }
}

function writeResults(result, shown, detail) {
  const dir = QUICK ? join(RESULTS, 'quick') : PARTIAL ? join(RESULTS, 'partial') : RESULTS;
  mkdirSync(dir, { recursive: true });
  const name = QUICK ? 'quick' : PARTIAL ? 'partial' : 'latest';
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(dir, `${name}.svg`), svgChart(shown));
  writeFileSync(join(dir, `${name}.md`), `${markdownTable(shown)}\n`);
  writeFileSync(join(dir, `${name}-runs.json`), `${JSON.stringify(detail, null, 2)}\n`);
  out(`\nwrote ${join(dir, `${name}.json`)}, ${name}.svg, ${name}.md (table) and ${name}-runs.json (every run)`);
}

function mergeScaling(entries, machine, detail) {
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, 'latest.json');
  let result = { machine, started_at: detail.started_at, scenarios: [], login: null, scaling: [] };
  if (existsSync(file)) {
    try {
      result = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      // Start afresh.
    }
  }
  result.scaling = entries;
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(RESULTS, 'scaling-runs.json'), `${JSON.stringify(detail, null, 2)}\n`);
  out(`\nwrote the scaling figures into ${file} and every run into scaling-runs.json`);
}

let code;
try {
  code = await main();
} catch (error) {
  if (interrupted) await cleanup().then(() => process.exit(130));
  warn(`\nbenchmark failed: ${error?.stack ?? error}`);
  for (const s of servers) warn(`  ${s.name} log: ${s.logFile}${opts['keep-db'] ? '' : ' (removed; run with --keep-db to keep it)'}`);
  if (servers.length > 0) {
    for (const s of servers) {
      try {
        warn(`--- last lines of the ${s.name} log\n${readFileSync(s.logFile, 'utf8').split('\n').slice(-15).join('\n')}`);
      } catch {
        // Already gone.
      }
    }
  }
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);

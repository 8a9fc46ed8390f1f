#!/usr/bin/env node
// Issue 11, item 9: what the worst searches cost, and what they do to other
// users' reads. 50,000 patients of one owner and 50,000 doctors (the shared
// directory) are seeded by SQL; then
//  1. each search shape is sent --requests times in a row by one user on one
//     keep-alive connection: status, latency p50/p99, and the CPU of the API
//     and of the PostgreSQL backends serving the database, per request;
//  2. another user reads their own patients by id (one connection, closed
//     loop) alone and while searches are sent 40 at once: (a) one user sends
//     40 at a time (the per-user bound admits 2, the rest are 429s); (b) 20
//     users send 2 each (the bound across users, SEARCH_CONCURRENCY_TOTAL,
//     half of the pool of 10 by default, admits 5, the rest are 429s).
//     Rounds alternate alone/during; each prints the 1-minute load average.
//
//   node bench/search-cost.mjs [--rows=50000] [--requests=20] [--rounds=3] [--seconds=10] [--no-build]
//                              [--total=N] [--storms=one_user_40_at_once,...]
//
// Production mode on PostgreSQL in a database of its own (hc_bench_search,
// dropped at the end); per-user rate limits lifted (the figure is the cost,
// not the budget); the per-user search bound and the search statement
// timeout stay at their defaults, and so does the bound across users (pass
// --total=N to set SEARCH_CONCURRENCY_TOTAL).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, call, machine, newAgent, newUser, parseArgs, readLoop, startProdApi, summarize } from './lib/api.mjs';
import { connect, seedDoctors, seedPatients, vacuumAnalyze, withIndexesRebuilt } from './lib/data.mjs';
import { cpuMicros, findPostmaster, pgBackendCpu, pgCpuBetween } from './lib/procstat.mjs';
import { median, out, round, sleep, spread } from './lib/util.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = parseArgs();
const ROWS = Number(args.rows ?? 50_000);
const REQUESTS = Number(args.requests ?? 20);
const ROUNDS = Number(args.rounds ?? 3);
const SECONDS = Number(args.seconds ?? 10);
const DB = 'hc_bench_search';

const q = encodeURIComponent;
/** [label, path]: patients are the searcher's own 50,000; doctors the directory of 50,000. */
const SHAPES = [
  ['patients: 200 % signs (no letter: refused)', `/api/patients/?search=${q('%'.repeat(200))}`],
  ['patients: 200 _ signs (no letter: refused)', `/api/patients/?search=${q('_'.repeat(200))}`],
  ['patients: 1-char prefix "a" (20% of rows start with it)', '/api/patients/?search=a'],
  ['patients: 1-char prefix "z" (no row)', '/api/patients/?search=z'],
  ['patients: 2-char prefix "Jo"', '/api/patients/?search=Jo'],
  ['patients: "a" + 199 % (prefix, % literal)', `/api/patients/?search=${q(`a${'%'.repeat(199)}`)}`],
  ['patients: 3-char substring "ace" (20% of rows)', '/api/patients/?search=ace'],
  ['patients: 3-char substring "xyz" (no row)', '/api/patients/?search=xyz'],
  ['patients: "ace" + 197 % (refused since)', `/api/patients/?search=${q(`ace${'%'.repeat(197)}`)}`],
  ['patients: "ace" + 10 % (the most punctuation allowed)', `/api/patients/?search=${q(`ace${'%'.repeat(10)}`)}`],
  ['patients: "ace" + 10 spaces + "x"', `/api/patients/?search=${q(`ace${' '.repeat(10)}x`)}`],
  ['patients: 200 letters "a"', `/api/patients/?search=${'a'.repeat(200)}`],
  ['patients: "ing" ordered by name', '/api/patients/?search=ing&ordering=name'],
  ['patients: "ace" last page size 100', '/api/patients/?search=ace&page_size=100'],
  ['doctors: 1-char prefix "D" (every row)', '/api/doctors/?search=D'],
  ['doctors: 3-char substring "ove"', '/api/doctors/?search=ove'],
  ['doctors: "card" (1 in 8)', '/api/doctors/?search=card'],
  ['patients: no search (reference)', '/api/patients/'],
];

async function costOf(api, pg, token, path) {
  const agent = newAgent();
  const first = await call(api.port, 'GET', path, { token, agent });
  const latencies = [];
  const errors = {};
  const cpu0 = cpuMicros(api.pid);
  const db0 = await pgBackendCpu(api.admin, DB, pg);
  for (let i = 0; i < REQUESTS; i++) {
    const res = await call(api.port, 'GET', path, { token, agent });
    if (res.status === first.status) latencies.push(res.ms);
    else errors[res.status] = (errors[res.status] ?? 0) + 1;
  }
  const db1 = await pgBackendCpu(api.admin, DB, pg);
  const cpu1 = cpuMicros(api.pid);
  agent.destroy();
  return {
    status: first.status,
    rows: Array.isArray(first.body?.results) ? first.body.results.length : null,
    ...summarize(latencies, errors),
    app_cpu_ms: round((cpu1 - cpu0) / REQUESTS / 1000, 3),
    db_cpu_ms: round(pgCpuBetween(db0, db1) / REQUESTS / 1000, 3),
  };
}

/**
 * `users` send `perUser` searches at a time each, back to back, for `seconds`; statuses counted.
 * `backOff`: after a 429 a lane waits the 1 s its Retry-After says, as a well-behaved client does;
 * without it, a lane sends its next search at once (each refusal still costs the session lookup).
 */
async function searchStorm(port, users, perUser, path, seconds, backOff = false) {
  const statuses = {};
  const until = Date.now() + seconds * 1000;
  const lanes = users.flatMap((u) =>
    Array.from({ length: perUser }, async () => {
      const agent = newAgent();
      while (Date.now() < until) {
        const res = await call(port, 'GET', path, { token: u.access, agent });
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (backOff && res.status === 429) await sleep(1000);
      }
      agent.destroy();
    }),
  );
  await Promise.all(lanes);
  return statuses;
}

async function main() {
  if (!args['no-build']) build(ROOT);
  const work = mkdtempSync(join(tmpdir(), 'hc-search-'));
  const api = await startProdApi({
    root: ROOT,
    db: DB,
    env: {
      // Production requires it; startProdApi (bench/lib/api.mjs) does not set one yet.
      AUDIT_CHAIN_KEY: process.env.AUDIT_CHAIN_KEY ?? randomBytes(32).toString('base64url'),
      USER_RATE_LIMIT: '1000000000',
      AUTH_RATE_LIMIT: '1000000000',
      ...(args.total === undefined ? {} : { SEARCH_CONCURRENCY_TOTAL: String(args.total) }),
    },
    logFile: join(work, 'api.log'),
  });
  try {
    const where = await machine(api.admin);
    const pg = await findPostmaster(api.admin);
    const searcher = await newUser(api.port, 'searcher');
    const reader = await newUser(api.port, 'reader');
    const db = await connect(api.dbUrl);
    const started = Date.now();
    await withIndexesRebuilt(db, 'patients', () => seedPatients(db, searcher.id, ROWS, new Date()));
    await withIndexesRebuilt(db, 'doctors', () => seedDoctors(db, searcher.id, ROWS));
    await vacuumAnalyze(db);
    await db.end();
    out(`seeded ${ROWS} patients and ${ROWS} doctors in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const ids = [];
    for (let i = 0; i < 20; i++) {
      const res = await call(api.port, 'POST', '/api/patients/', { token: reader.access, body: { name: `Reader Patient ${i}`, age: 30 + i, gender: 'male' } });
      ids.push(res.body.id);
    }
    const next = (i) => `/api/patients/${ids[i % ids.length]}/`;

    // 1. The cost of each shape.
    for (const [, path] of SHAPES) for (let i = 0; i < 3; i++) await call(api.port, 'GET', path, { token: searcher.access });
    const runs = Object.fromEntries(SHAPES.map(([label]) => [label, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const [label, path] of SHAPES) runs[label].push(await costOf(api, pg, searcher.access, path));
      out(`shapes round ${r + 1} done`);
    }
    const shapes = SHAPES.map(([label, path]) => {
      const rs = runs[label];
      return {
        shape: label,
        path: path.length > 80 ? `${path.slice(0, 77)}...` : path,
        status: rs[0].status,
        rows: rs[0].rows,
        p50_ms: median(rs.map((x) => x.p50_ms)),
        p50_range: [Math.min(...rs.map((x) => x.p50_ms)), Math.max(...rs.map((x) => x.p50_ms))],
        p99_ms: median(rs.map((x) => x.p99_ms)),
        app_cpu_ms: median(rs.map((x) => x.app_cpu_ms)),
        db_cpu_ms: median(rs.map((x) => x.db_cpu_ms)),
        other_statuses: rs.map((x) => x.error_statuses),
      };
    });
    out('| Search | Status | Rows | p50 ms (range) | p99 ms | App CPU ms | DB CPU ms |');
    out('|---|---|---|---|---|---|---|');
    for (const s of shapes) out(`| ${s.shape} | ${s.status} | ${s.rows ?? '-'} | ${s.p50_ms} (${s.p50_range.join('-')}) | ${s.p99_ms} | ${s.app_cpu_ms} | ${s.db_cpu_ms} |`);

    // 2. Other users' reads during 40 searches at once.
    const worst = shapes.filter((s) => s.status === 200 && s.shape.startsWith('patients')).sort((a, b) => b.db_cpu_ms - a.db_cpu_ms)[0];
    const worstPath = SHAPES.find(([label]) => label === worst.shape)[1];
    // The doctors' shapes cost within noise of each other: the one that matches every row, as first measured.
    const [doctorsShape, doctorsPath] = SHAPES.find(([label]) => label.startsWith('doctors: 1-char prefix'));
    const crowd = [];
    for (let i = 0; i < 20; i++) crowd.push(await newUser(api.port, `crowd${i}`));
    await readLoop(api.port, reader.access, next, 3);
    const storms = {
      one_user_40_at_once: { users: [searcher], perUser: 40, path: worstPath, search: worst.shape },
      twenty_users_2_each: { users: crowd, perUser: 2, path: doctorsPath, search: doctorsShape },
      twenty_users_2_each_backing_off: { users: crowd, perUser: 2, path: doctorsPath, search: doctorsShape, backOff: true },
      // The control for the first: the same flood of one user's requests, of a list that does not search.
      one_user_40_plain_lists_at_once: { users: [searcher], perUser: 40, path: '/api/patients/', search: 'patients: no search (reference)' },
    };
    // --storms=a,b runs only those.
    const only = args.storms ? new Set(String(args.storms).split(',')) : undefined;
    for (const name of Object.keys(storms)) if (only && !only.has(name)) delete storms[name];
    const concurrency = {};
    for (const [name, storm] of Object.entries(storms)) {
      const rounds = [];
      for (let r = 0; r < ROUNDS; r++) {
        const alone = await readLoop(api.port, reader.access, next, SECONDS);
        const running = searchStorm(api.port, storm.users, storm.perUser, storm.path, SECONDS + 2, storm.backOff);
        await sleep(1000);
        const during = await readLoop(api.port, reader.access, next, SECONDS);
        const statuses = await running;
        await sleep(500);
        const load1 = round(loadavg()[0]);
        rounds.push({ alone, during, ratio: round(during.p50_ms / alone.p50_ms), search_statuses: statuses, loadavg_1: load1 });
        out(`${name} round ${r + 1}: alone p50 ${alone.p50_ms} ms, during p50 ${during.p50_ms} ms p99 ${during.p99_ms} (${during.errors} errors), ratio ${round(during.p50_ms / alone.p50_ms)}, searches ${JSON.stringify(statuses)}, load ${load1}`);
      }
      concurrency[name] = {
        search: storm.search,
        reader_p50_alone_ms: median(rounds.map((x) => x.alone.p50_ms)),
        reader_p50_during_ms: median(rounds.map((x) => x.during.p50_ms)),
        ratio: median(rounds.map((x) => x.ratio)),
        ratio_range: [Math.min(...rounds.map((x) => x.ratio)), Math.max(...rounds.map((x) => x.ratio))],
        during_spread: round(spread(rounds.map((x) => x.during.p50_ms))),
        reader_errors_during: rounds.reduce((s, x) => s + x.during.errors, 0),
        per_round: rounds,
      };
    }
    const result = {
      machine: { ...where, loadavg_after: (await machine(api.admin)).loadavg_1_5_15 },
      rows: ROWS,
      requests_per_shape: REQUESTS,
      rounds: ROUNDS,
      shapes,
      concurrency,
    };
    out(JSON.stringify({ concurrency: Object.fromEntries(Object.entries(concurrency).map(([k, v]) => [k, { ...v, per_round: undefined }])) }, null, 2));
    out(`machine ${JSON.stringify(result.machine)}`);
    mkdirSync(join(ROOT, 'bench/results/partial'), { recursive: true });
    const file = join(ROOT, 'bench/results/partial', `search-cost-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
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

#!/usr/bin/env node
// Issue 11, item 1: one client floods GET /api/patients/ without a token as
// fast as it can (wrk, keep-alive connections from one address) while another
// user reads their own patients by id (one keep-alive connection, one request
// at a time, closed loop). Rounds alternate "alone" and "during the flood";
// the figures are the reader's p50/p99 and errors in each, their medians and
// spread over the rounds, the flood's rate and how much of it was a 429, and
// what the refusals left in the audit trail and the log.
//
//   node bench/flood.mjs [--rounds=3] [--seconds=10] [--connections=32] [--no-build] [--app=DIR]
//
// Production mode on PostgreSQL (DATABASE_URL, default the CI server) in a
// database of its own (hc_bench_flood, dropped at the end); rate limits on at
// their defaults (ANON_RATE_LIMIT=60 a minute per address). Only the reader's
// own per-user limit is lifted: its closed loop sends thousands of reads a
// minute, and the figure wanted is its latency, not its budget. --app runs
// another checkout's dist/ (say main's before a change) with the same load.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, call, machine, newUser, parseArgs, readLoop, startProdApi } from './lib/api.mjs';
import { connect } from './lib/data.mjs';
import { median, out, round, sleep, spread } from './lib/util.mjs';
import { ensureWrk } from './lib/wrk.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = parseArgs();
const ROUNDS = Number(args.rounds ?? 3);
const SECONDS = Number(args.seconds ?? 10);
const CONNECTIONS = Number(args.connections ?? 32);
const APP = resolve(String(args.app ?? ROOT));

function flood(port, seconds) {
  return new Promise((done, fail) => {
    const script = join(ROOT, 'bench/lua/flood-anonymous.lua');
    const child = spawn('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '5s', '-s', script, `http://127.0.0.1:${port}`]);
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', fail);
    child.on('exit', () => {
      const line = stdout.split('\n').find((l) => l.startsWith('FLOOD_RESULT '));
      if (!line) return fail(new Error(`wrk gave no result: ${stdout}`));
      const r = JSON.parse(line.slice('FLOOD_RESULT '.length));
      done({
        requests: r.requests,
        rps: round(r.requests / (r.duration_us / 1e6), 0),
        statuses: r.statuses,
        socket_errors: r.socket_errors,
      });
    });
  });
}

async function main() {
  ensureWrk();
  if (!args['no-build'] && APP === ROOT) build(ROOT);
  const work = mkdtempSync(join(tmpdir(), 'hc-flood-'));
  const api = await startProdApi({ root: APP, db: 'hc_bench_flood', env: { USER_RATE_LIMIT: '1000000000' }, logFile: join(work, 'api.log') });
  try {
    const where = await machine(api.admin);
    const reader = await newUser(api.port, 'reader');
    const ids = [];
    for (let i = 0; i < 20; i++) {
      const res = await call(api.port, 'POST', '/api/patients/', {
        token: reader.access,
        body: { name: `Reader Patient ${i}`, age: 30 + i, gender: 'female' },
      });
      ids.push(res.body.id);
    }
    const next = (i) => `/api/patients/${ids[i % ids.length]}/`;
    await readLoop(api.port, reader.access, next, 3); // warm-up
    const rounds = [];
    for (let r = 0; r < ROUNDS; r++) {
      const alone = await readLoop(api.port, reader.access, next, SECONDS);
      const flooding = flood(api.port, SECONDS + 2);
      await sleep(1000); // the flood's connections are open and at full rate
      const during = await readLoop(api.port, reader.access, next, SECONDS);
      const flooded = await flooding;
      await sleep(1000);
      const round_ = { alone, during, p50_ratio: round(during.p50_ms / alone.p50_ms), flood: flooded };
      out(`round ${r + 1}: alone p50 ${alone.p50_ms} ms p99 ${alone.p99_ms} (${alone.requests} reads, ${alone.errors} errors); ` +
        `during p50 ${during.p50_ms} ms p99 ${during.p99_ms} (${during.requests} reads, ${during.errors} errors); ` +
        `ratio ${round_.p50_ratio}; flood ${flooded.rps} req/s ${JSON.stringify(flooded.statuses)}, ${flooded.socket_errors} socket errors`);
      rounds.push(round_);
    }
    const loadAfter = (await machine(api.admin)).loadavg_1_5_15;
    await api.stopServer(); // flushes the refusal writer's aggregates
    const db = await connect(api.dbUrl);
    const [rows] = (
      await db.query(`SELECT count(*)::int AS rows, coalesce(sum(count), 0)::int AS refusals
                        FROM audit_events WHERE action = 'access_denied' AND actor_id IS NULL`)
    ).rows;
    await db.end().catch(() => undefined);
    const log = readFileSync(join(work, 'api.log'), 'utf8');
    const floodRequests = rounds.reduce((s, r) => s + r.flood.requests, 0);
    const result = {
      machine: { ...where, loadavg_after: loadAfter },
      app: APP,
      rounds: ROUNDS,
      seconds: SECONDS,
      flood_connections: CONNECTIONS,
      reader_p50_alone_ms: median(rounds.map((r) => r.alone.p50_ms)),
      reader_p50_during_ms: median(rounds.map((r) => r.during.p50_ms)),
      reader_p50_ratio: median(rounds.map((r) => r.p50_ratio)),
      reader_p50_ratio_range: [Math.min(...rounds.map((r) => r.p50_ratio)), Math.max(...rounds.map((r) => r.p50_ratio))],
      reader_p50_during_spread: round(spread(rounds.map((r) => r.during.p50_ms))),
      reader_errors_during: rounds.reduce((s, r) => s + r.during.errors, 0),
      reader_errors_alone: rounds.reduce((s, r) => s + r.alone.errors, 0),
      flood_rps_median: median(rounds.map((r) => r.flood.rps)),
      flood_requests: floodRequests,
      // Rows the anonymous refusals took in audit_events, and how many refusals they stand for.
      anonymous_refusal_rows: rows.rows,
      anonymous_refusals_recorded: rows.refusals,
      log_audit_not_written: (log.match(/audit event not written/g) ?? []).length,
      log_refusals_lost_lines: (log.match(/refusals not recorded/g) ?? []).length,
      per_round: rounds,
    };
    out(JSON.stringify({ ...result, per_round: undefined }, null, 2));
    mkdirSync(join(ROOT, 'bench/results/partial'), { recursive: true });
    const file = join(ROOT, 'bench/results/partial', `flood-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
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

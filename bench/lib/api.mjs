// The API as production runs it, for the issue 11 measurements (bench/flood.mjs,
// bench/refusal-cost.mjs, bench/search-cost.mjs): built dist/, NODE_ENV=production,
// start:prod's Node flags, PostgreSQL in a database of its own, rate limits on.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { connect, databaseUrl, dropDatabase, recreateDatabase } from './data.mjs';
import { startServer } from './servers.mjs';
import { freePort, percentile, round } from './util.mjs';

export const ADMIN_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** `--key=value` and `--flag` arguments. */
export function parseArgs(argv = process.argv.slice(2)) {
  return Object.fromEntries(
    argv.map((arg) => {
      const [key, value] = arg.replace(/^--/, '').split('=');
      return [key, value ?? true];
    }),
  );
}

/** What the figures were taken on: cores, CPU, Node, PostgreSQL, and the load average then (other agents share the machine). */
export async function machine(admin) {
  const { rows } = await admin.query('SHOW server_version');
  return {
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model?.trim() ?? 'unknown',
    node: process.version,
    postgres: `PostgreSQL ${rows[0].server_version.split(' ')[0]}`,
    loadavg_1_5_15: loadavg().map((l) => round(l)),
    at: new Date().toISOString(),
  };
}

export function build(root) {
  execFileSync('npm', ['run', 'build:api', '--silent'], { cwd: root, stdio: 'inherit' });
}

/**
 * Creates database `db` (dropped by the returned stop()), starts the API from
 * `root`'s dist/ in production mode with `env` on top of production settings
 * (rate limits on at their defaults, unless env says otherwise).
 */
export async function startProdApi({ root, db, env = {}, logFile }) {
  const admin = await connect(ADMIN_URL);
  await recreateDatabase(admin, db);
  const port = await freePort();
  const startProd = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts['start:prod'] ?? '';
  const full = {
    ...process.env,
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    MFA_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    AUDIT_CHAIN_KEY: randomBytes(48).toString('base64url'),
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl(ADMIN_URL, db),
    HOST: '127.0.0.1',
    PORT: String(port),
    DB_POOL_SIZE: '10',
    DB_MIGRATE_ON_START: 'true',
    THROTTLE_ENABLED: 'true',
    ...env,
  };
  for (const name of ['NODE_OPTIONS', 'REDIS_URL']) delete full[name];
  for (const [name, value] of Object.entries(full)) if (value === undefined) delete full[name];
  let server;
  try {
    server = await startServer({
      name: 'API',
      cwd: root,
      args: [...startProd.split(/\s+/).filter((a) => a.startsWith('--')), 'dist/src/main.js'],
      env: full,
      port,
      logFile,
      readyPath: '/health/ready',
    });
  } catch (error) {
    await dropDatabase(admin, db).catch(() => undefined);
    await admin.end().catch(() => undefined);
    throw error;
  }
  return {
    port,
    pid: server.pid,
    dbUrl: databaseUrl(ADMIN_URL, db),
    admin,
    async stopServer() {
      await server.stop();
    },
    async stop() {
      await server.stop();
      await dropDatabase(admin, db).catch(() => undefined);
      await admin.end().catch(() => undefined);
    },
  };
}

/** One keep-alive connection per agent: a client that sends one request at a time. */
export const newAgent = () => new Agent({ keepAlive: true, maxSockets: 1 });

/** One request; resolves with status, latency (ms) and the parsed JSON body; status 0 on a socket error or timeout. */
export function call(port, method, path, { token, body, raw, agent, headers = {} } = {}) {
  return new Promise((done) => {
    const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body));
    const started = process.hrtime.bigint();
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        timeout: 10_000,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          done({ status: res.statusCode, ms, body: json, bytes: text.length });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => done({ status: 0, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Registers and logs in a user; returns { id, username, password, access }. */
export async function newUser(port, prefix) {
  const username = `${prefix}_${randomBytes(4).toString('hex')}`;
  const password = 'Quiet-Harbour-Lantern-42';
  const reg = await call(port, 'POST', '/api/auth/register/', { body: { username, email: `${username}@example.com`, password } });
  if (reg.status !== 201) throw new Error(`register ${username}: ${reg.status} ${JSON.stringify(reg.body)}`);
  const login = await call(port, 'POST', '/api/auth/login/', { body: { username, password } });
  if (login.status !== 200) throw new Error(`login ${username}: ${login.status} ${JSON.stringify(login.body)}`);
  return { id: reg.body.id, username, password, access: login.body.access };
}

/**
 * A closed loop of one client on one keep-alive connection for `seconds`:
 * `next(i)` gives the path; 200s give latencies, anything else counts as an error.
 */
export async function readLoop(port, token, next, seconds) {
  const agent = newAgent();
  const latencies = [];
  const errors = {};
  const until = Date.now() + seconds * 1000;
  for (let i = 0; Date.now() < until; i++) {
    const res = await call(port, 'GET', next(i), { token, agent });
    if (res.status === 200) latencies.push(res.ms);
    else errors[res.status] = (errors[res.status] ?? 0) + 1;
  }
  agent.destroy();
  return summarize(latencies, errors);
}

export function summarize(latencies, errors = {}) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    requests: sorted.length + Object.values(errors).reduce((a, b) => a + b, 0),
    p50_ms: round(percentile(sorted, 50)),
    p99_ms: round(percentile(sorted, 99)),
    errors: Object.values(errors).reduce((a, b) => a + b, 0),
    error_statuses: errors,
  };
}

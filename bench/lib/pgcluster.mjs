// A PostgreSQL primary and, with --replica, a streaming standby of the bench's own: initdb into a
// temporary directory, loopback ports of their own, the standby made with `pg_basebackup -R`.
// The machine's server usually allows no replication connection (pg_hba.conf), and the bench
// must not change its configuration; so a run with a replica brings both servers, and a run
// without one can bring the same primary (--private-pg) to compare like with like.
// When the bench runs as root, initdb, pg_ctl and the servers run as the `postgres` user.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sleep } from './util.mjs';

/** The settings of the machine's server that matter to the figures (autovacuum off, as on node-svc). */
const SETTINGS = [
  "listen_addresses = '127.0.0.1'",
  'fsync = on',
  'synchronous_commit = on',
  'shared_buffers = 128MB',
  'max_connections = 100',
  'max_wal_size = 1GB',
  'min_wal_size = 80MB',
  'autovacuum = off',
  'max_wal_senders = 4',
  // Each run's statements are recorded (the table of the slowest after each scenario); the machine's server may lack it.
  "shared_preload_libraries = 'pg_stat_statements'",
];

function binDir() {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  if (versions.length === 0) throw new Error(`--private-pg / --replica: no PostgreSQL server binaries under ${root}/<version>/bin (set PG_BIN)`);
  return join(root, versions.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

function runAs() {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

export class BenchCluster {
  constructor(dir, port, bin, user) {
    this.dir = dir;
    this.port = port;
    this.bin = bin;
    this.user = user;
  }

  get dataDir() {
    return join(this.dir, 'data');
  }

  /** The superuser's URL of the `postgres` database (the bench's ADMIN_URL). */
  get url() {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async primary() {
    const cluster = await BenchCluster.#make('hc-bench-primary-');
    cluster.#tool('initdb', ['-D', cluster.dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-instructions']);
    appendFileSync(join(cluster.dataDir, 'postgresql.conf'), ['', '# bench/lib/pgcluster.mjs', ...SETTINGS, ...cluster.#ownPort(), ''].join('\n'));
    appendFileSync(join(cluster.dataDir, 'pg_hba.conf'), '\nhost replication postgres 127.0.0.1/32 trust\n');
    cluster.start();
    return cluster;
  }

  /** A streaming standby of this primary (hot standby, read-only sessions). */
  async standby() {
    const standby = await BenchCluster.#make('hc-bench-standby-');
    standby.#tool('pg_basebackup', ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres', '-D', standby.dataDir, '-R', '-X', 'stream', '-c', 'fast']);
    // The copied postgresql.conf names the primary's port and socket: later lines win.
    appendFileSync(join(standby.dataDir, 'postgresql.conf'), ['', '# bench: the standby', ...standby.#ownPort(), ''].join('\n'));
    standby.start();
    return standby;
  }

  start() {
    this.#tool('pg_ctl', ['start', '-w', '-t', '60', '-D', this.dataDir, '-l', join(this.dir, 'postgres.log')]);
  }

  /** Stops the server and removes its directory. */
  destroy() {
    if (existsSync(join(this.dataDir, 'postmaster.pid'))) {
      spawnSync(join(this.bin, 'pg_ctl'), ['stop', '-w', '-t', '60', '-D', this.dataDir, '-m', 'fast'], { stdio: 'ignore', ...(this.user ?? {}) });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Waits until a standby (this) has replayed everything the primary had written when called. */
  static async caughtUp(primaryClient, standbyClient, timeoutMs = 120_000) {
    const { rows } = await primaryClient.query('SELECT pg_current_wal_lsn()::text AS lsn');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await standbyClient.query('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [rows[0].lsn]);
      if (r.rows[0].done) return;
      if (Date.now() > deadline) throw new Error(`the standby did not replay up to ${rows[0].lsn} within ${timeoutMs / 1000} s`);
      await sleep(100);
    }
  }

  static async #make(prefix) {
    const user = runAs();
    const dir = mkdtempSync(join(tmpdir(), prefix));
    if (user) chownSync(dir, user.uid, user.gid);
    return new BenchCluster(dir, await freePort(), binDir(), user);
  }

  #ownPort() {
    return [`port = ${this.port}`, `unix_socket_directories = '${this.dir}'`];
  }

  #tool(name, args) {
    const result = spawnSync(join(this.bin, name), args, { encoding: 'utf8', ...(this.user ?? {}) });
    if (result.status !== 0) {
      const log = join(this.dir, 'postgres.log');
      const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new Error(`${name} failed (${result.status}): ${result.stderr || result.stdout}\n${tail}`);
    }
  }
}

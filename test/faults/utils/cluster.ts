import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';

/** The role and database the app under test uses; the harness itself connects as the superuser. */
export const APP_ROLE = 'app';
export const APP_DATABASE = 'healthcare';

/**
 * A PostgreSQL cluster of the test's own: initdb into a temp directory, its
 * own port and socket directory, fsync on. Stopping, crashing or freezing it
 * touches nothing else on the machine, and its processes are found through
 * its postmaster.pid (and that process's children), never by name.
 *
 * PostgreSQL refuses to run as root: when the tests run as root (as CI does),
 * initdb, pg_ctl and the server run as the `postgres` system user, which owns
 * the temp directory.
 */
export class PgCluster {
  private frozen: number[] = [];
  private readonly onExit = () => this.emergencyStop();

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
    private readonly runAs: { uid: number; gid: number } | undefined,
  ) {
    process.once('exit', this.onExit);
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  get logFile(): string {
    return join(this.dir, 'postgres.log');
  }

  /** What the app is given as DATABASE_URL. */
  get appUrl(): string {
    return `postgres://${APP_ROLE}@127.0.0.1:${this.port}/${APP_DATABASE}`;
  }

  /** Creates, configures and starts a new cluster with the app's role and (empty) database. */
  static async create(): Promise<PgCluster> {
    const bin = postgresBinDir();
    const runAs = process.getuid?.() === 0 ? postgresUser() : undefined;
    const dir = mkdtempSync(join(tmpdir(), 'hc-faults-'));
    if (runAs) chownSync(dir, runAs.uid, runAs.gid);
    const cluster = new PgCluster(dir, await freePort(), bin, runAs);
    await cluster.pgTool('initdb', [
      '-D',
      cluster.dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '--encoding=UTF8',
      '--locale=C.UTF-8',
      '--no-instructions',
    ]);
    // Durability as in production (fsync and synchronous commit on), so that the crash test means something.
    appendFileSync(
      join(cluster.dataDir, 'postgresql.conf'),
      [
        '',
        '# test/faults: a private cluster',
        `port = ${cluster.port}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dir}'`,
        'fsync = on',
        'synchronous_commit = on',
        'full_page_writes = on',
        'max_connections = 100',
        '',
      ].join('\n'),
    );
    await cluster.start();
    await cluster.query(`CREATE ROLE ${APP_ROLE} LOGIN`, [], 'postgres');
    await cluster.query(`CREATE DATABASE ${APP_DATABASE} OWNER ${APP_ROLE}`, [], 'postgres');
    return cluster;
  }

  /**
   * A streaming standby of this cluster, as an operator makes one:
   * `pg_basebackup -R` (which writes primary_conninfo and standby.signal)
   * into a directory of its own, on its own port, then started. It serves
   * read-only queries (hot_standby is on by default).
   */
  async createStandby(): Promise<PgCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'hc-standby-'));
    if (this.runAs) chownSync(dir, this.runAs.uid, this.runAs.gid);
    const standby = new PgCluster(dir, await freePort(), this.bin, this.runAs);
    await standby.pgTool('pg_basebackup', ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres', '-D', standby.dataDir, '-R', '-X', 'stream', '-c', 'fast']);
    // The copied postgresql.conf names the primary's port and socket: later lines win.
    appendFileSync(
      join(standby.dataDir, 'postgresql.conf'),
      ['', '# test: a streaming standby', `port = ${standby.port}`, `unix_socket_directories = '${dir}'`, ''].join('\n'),
    );
    await standby.start();
    return standby;
  }

  async start(): Promise<void> {
    await this.pgTool('pg_ctl', ['start', '-w', '-t', '60', '-D', this.dataDir, '-l', this.logFile]);
  }

  /** pg_ctl stop: `fast` rolls back and disconnects every session; `immediate` is a crash (recovery at the next start). */
  async stop(mode: 'fast' | 'immediate'): Promise<void> {
    await this.pgTool('pg_ctl', ['stop', '-w', '-t', '60', '-D', this.dataDir, '-m', mode]);
  }

  /** The postmaster's pid, from this cluster's postmaster.pid; undefined when it is not running. */
  postmasterPid(): number | undefined {
    const file = join(this.dataDir, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number.parseInt(readFileSync(file, 'utf8').split('\n')[0], 10);
    return Number.isSafeInteger(pid) && pid > 0 && isRunning(pid) ? pid : undefined;
  }

  /** The postmaster and every process it forked (checkpointer, walwriter, one backend per connection...). */
  processes(): number[] {
    const postmaster = this.postmasterPid();
    return postmaster === undefined ? [] : [postmaster, ...childrenOf(postmaster)];
  }

  /**
   * SIGSTOP the whole cluster: the postmaster first, so that it forks no new
   * backend, then each of its children. The server hangs with its sockets open.
   */
  freeze(): number[] {
    const postmaster = this.postmasterPid();
    if (postmaster === undefined) throw new Error('freeze: the cluster is not running');
    process.kill(postmaster, 'SIGSTOP');
    this.frozen = [postmaster];
    for (const pid of childrenOf(postmaster)) {
      try {
        process.kill(pid, 'SIGSTOP');
        this.frozen.push(pid);
      } catch {
        // Exited between listing and signalling.
      }
    }
    return [...this.frozen];
  }

  /** SIGCONT what freeze() stopped: the children first, then the postmaster. */
  thaw(): void {
    for (const pid of [...this.frozen].reverse()) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // Gone.
      }
    }
    this.frozen = [];
  }

  /** A query as the superuser, on a connection of its own (a few seconds at most). */
  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = [], database = APP_DATABASE): Promise<T[]> {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: this.port,
      user: 'postgres',
      database,
      connectionTimeoutMillis: 5000,
      query_timeout: 10_000,
    });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  /** The app role's sessions in pg_stat_activity. */
  async appSessions(): Promise<number> {
    const rows = await this.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [APP_ROLE]);
    return rows[0].n;
  }

  /** The server log's last lines, for a failure report. */
  logTail(lines = 30): string {
    if (!existsSync(this.logFile)) return '';
    return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** Stops the cluster (thawing it first if frozen) and removes its directory. */
  async destroy(): Promise<void> {
    process.removeListener('exit', this.onExit);
    this.thaw();
    if (this.postmasterPid() !== undefined) await this.stop('immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** On an abrupt exit of the test process: never leave a server running. Synchronous, as 'exit' requires. */
  private emergencyStop(): void {
    this.thaw();
    if (this.postmasterPid() !== undefined) {
      spawnSync(join(this.bin, 'pg_ctl'), ['stop', '-w', '-D', this.dataDir, '-m', 'immediate'], {
        ...this.spawnOptions(),
        stdio: 'ignore',
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private spawnOptions() {
    return {
      cwd: this.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
      ...(this.runAs ?? {}),
    };
  }

  private pgTool(tool: string, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(join(this.bin, tool), args, { ...this.spawnOptions(), timeout: 90_000 }, (error, stdout, stderr) => {
        if (error) {
          const log = this.logTail(15);
          reject(new Error(`${tool} ${args.join(' ')} failed: ${error.message}\n${stderr}${log ? `\nserver log:\n${log}` : ''}`));
        } else resolve(stdout);
      });
    });
  }
}

/** PG_BIN, else the newest /usr/lib/postgresql/<version>/bin that has initdb (Debian's layout). */
function postgresBinDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(`No PostgreSQL server binaries under ${root}/<version>/bin: set PG_BIN`);
  return join(root, versions[0], 'bin');
}

/** The `postgres` system user, which runs the cluster when the tests run as root. */
function postgresUser(): { uid: number; gid: number } {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('Running as root, and there is no `postgres` user to run PostgreSQL as (it refuses to run as root)');
  }
}

/** Direct children of a process, from /proc (every thread's list), else pgrep -P. */
export function childrenOf(pid: number): number[] {
  const tasks = `/proc/${pid}/task`;
  try {
    const found = new Set<number>();
    for (const task of readdirSync(tasks)) {
      for (const child of readFileSync(join(tasks, task, 'children'), 'utf8').trim().split(/\s+/)) {
        if (child) found.add(Number(child));
      }
    }
    return [...found];
  } catch {
    const result = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
    return result.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => Number(line));
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

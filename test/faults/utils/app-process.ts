import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { FaultsClient, now, sleep } from './http.js';
import { freePort } from './ports.js';

export const FAULTS_JWT_SECRET = 'faults-secret-that-is-long-enough-for-hs256-0123456789';

/** What production refuses to start without: the server and the CLI under test get the same (test-only) keys. */
export const PRODUCTION_SECRETS = {
  NODE_ENV: 'production',
  JWT_SECRET: FAULTS_JWT_SECRET,
  MFA_ENCRYPTION_KEY: 'faults-mfa-key-that-is-long-enough-0123456789',
  AUDIT_CHAIN_KEY: 'faults-audit-chain-key-that-is-long-enough-0123456789',
};

/** The repository root: jest runs with it as the working directory. */
const ROOT = resolve('.');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** On the now() clock. */
  at: number;
}

/**
 * The real built server (`node dist-test/src/main.js`, as `npm run start:prod` runs dist/)
 * as a child process, in production mode, on the test's cluster. Its output
 * is kept (warnings and errors only: LOG_LEVEL=warn) for the failure reports.
 */
export class AppProcess {
  readonly client: FaultsClient;
  readonly output: string[] = [];
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.client = new FaultsClient(`http://127.0.0.1:${port}`);
    const keep = (chunk: Buffer) => this.output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    // If the test process ends first (a crash, an interrupted run), the server goes with it.
    const orphan = () => child.kill('SIGKILL');
    process.once('exit', orphan);
    this.exited = new Promise((done) =>
      child.once('exit', (code, signal) => {
        process.removeListener('exit', orphan);
        this.exit = { code, signal, at: now() };
        done(this.exit);
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Spawns the server; does not wait for it (see waitUntilServing). */
  static async spawn(databaseUrl: string, env: Record<string, string> = {}, port?: number): Promise<AppProcess> {
    port ??= await freePort();
    const child = spawn(process.execPath, ['--enable-source-maps', 'dist-test/src/main.js'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ...PRODUCTION_SECRETS,
        LOG_LEVEL: 'warn',
        DATABASE_URL: databaseUrl,
        HOST: '127.0.0.1',
        PORT: String(port),
        // Rate limits would refuse the load itself; so would the per-account bounds, as the load is one account's.
        THROTTLE_ENABLED: 'false',
        PASSWORD_HASH_PER_ACCOUNT: '1024',
        SEARCH_CONCURRENCY_PER_USER: '1024',
        DB_MIGRATE_ON_START: 'true',
        ...env,
      },
    });
    return new AppProcess(child, port);
  }

  /** Spawns the server and waits until GET /health/ready answers 200. */
  static async start(databaseUrl: string, env: Record<string, string> = {}, port?: number): Promise<AppProcess> {
    const app = await AppProcess.spawn(databaseUrl, env, port);
    await app.waitUntilReady(60_000);
    return app;
  }

  /** Until /health/ready answers 200 (the database answers and migrations are applied); throws when the process exits first. */
  async waitUntilReady(timeoutMs: number): Promise<number> {
    const deadline = now() + timeoutMs;
    while (now() < deadline) {
      if (!this.running) throw new Error(`the app exited (${JSON.stringify(this.exit)}) before it was ready:\n${this.logTail()}`);
      const probe = await this.client.send('GET', '/health/ready', { agent: false, timeoutMs: 3000 });
      if (probe.status === 200) return probe.end;
      await sleep(100);
    }
    throw new Error(`the app was not ready within ${timeoutMs} ms:\n${this.logTail()}`);
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited after graceMs. */
  async stop(graceMs = 15_000): Promise<Exit> {
    this.client.close();
    if (this.exit) return this.exit;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  logTail(lines = 20): string {
    return this.output.slice(-lines).join('\n');
  }

  /** The app's log lines counted by level and message (JSON lines from pino; anything else as is). */
  logSummary(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const line of this.output) {
      let key = line.slice(0, 120);
      try {
        const entry = JSON.parse(line) as { level?: unknown; msg?: unknown; message?: unknown; context?: unknown };
        key = `${entry.level} ${entry.context ?? ''} ${String(entry.msg ?? entry.message ?? '').slice(0, 100)}`;
      } catch {
        // Not JSON: counted by its text.
      }
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  /** For a failure report: what the app logged, counted, and its last lines. */
  logReport(lines = 6): string {
    const counted = JSON.stringify(this.logSummary());
    return `app log, counted by level/context/message: ${counted}\napp log, last lines:\n${this.logTail(lines)}\n`;
  }
}

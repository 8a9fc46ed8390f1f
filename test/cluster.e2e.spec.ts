import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TEST_JWT_SECRET } from './utils/app.js';
import { createTestDatabase, type TestDatabase } from './utils/database.js';
import { ensureTestBuild } from './utils/test-build.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** The pids whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        // Field 4 of /proc/<pid>/stat, after the command in parentheses.
        return Number(readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, limitMs: number): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - start > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The status of a GET on a connection of its own (as a load balancer's health check): undefined when nothing answers. */
const answers = (url: string) =>
  new Promise<number | undefined>((resolve) => {
    const req = get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(undefined));
    req.setTimeout(5000, () => req.destroy());
  });

describe('CLUSTER_WORKERS with the embedded database (e2e)', () => {
  it('is refused at start with one line naming the rule: PGlite belongs to one process', async () => {
    const build = ensureTestBuild('api');
    const child = spawn(process.execPath, [join(build, 'src', 'main.js')], {
      env: { PATH: process.env.PATH, PORT: String(await freePort()), CLUSTER_WORKERS: '2', PGLITE_DATA_DIR: 'memory://' } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      'Failed to start: Invalid configuration: CLUSTER_WORKERS above 1 needs PostgreSQL (DATABASE_URL or DB_NAME): the embedded PGlite database belongs to one process',
    );
  }, 90_000);
});

// Workers need PostgreSQL (PGlite belongs to one process): this part exists where TEST_DATABASE_URL is set.
if (process.env.TEST_DATABASE_URL) {
  describe('CLUSTER_WORKERS=2: the built server as workers sharing one port (e2e, PostgreSQL)', () => {
    let db: TestDatabase;
    let server: ChildProcess;
    let port: number;
    let log = '';
    let exit: Promise<number | null>;

    beforeAll(async () => {
      const build = ensureTestBuild('api');
      db = await createTestDatabase();
      port = await freePort();
      server = spawn(process.execPath, [join(build, 'src', 'main.js')], {
        env: {
          PATH: process.env.PATH,
          ...db.env,
          PORT: String(port),
          HOST: '127.0.0.1',
          CLUSTER_WORKERS: '2',
          JWT_SECRET: TEST_JWT_SECRET,
          SHUTDOWN_DRAIN_SECONDS: '0',
          LOG_LEVEL: 'info',
        } as NodeJS.ProcessEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      server.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
      server.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
      exit = new Promise((resolve) => server.on('exit', (code) => resolve(code)));
      await until(async () => ((await answers(`http://127.0.0.1:${port}/health/ready`)) === 200 ? true : undefined), 60_000);
    }, 120_000);

    afterAll(async () => {
      if (server.exitCode === null) server.kill('SIGKILL');
      await db?.drop();
    });

    it('two workers serve; one that dies is replaced and the port keeps answering; SIGTERM drains them all and exits 0', async () => {
      // Both workers up and listening (the ready probe above needed only one).
      const workers = await until(() => {
        const pids = childrenOf(server.pid!);
        return pids.length === 2 && pids.every((pid) => log.includes(`worker ${pid} listening`)) ? pids : undefined;
      }, 30_000);
      // The first process only supervises: both workers are servers of their own (each logged its start-up).
      expect(log.match(/starting 2 workers/g)).toHaveLength(1);

      process.kill(workers[0], 'SIGKILL');
      const replaced = await until(() => {
        const pids = childrenOf(server.pid!);
        return pids.length === 2 && !pids.includes(workers[0]) ? pids : undefined;
      }, 30_000).catch((error: Error) => {
        throw new Error(`${error.message}: children ${JSON.stringify(childrenOf(server.pid!))}, killed ${workers[0]}; log:\n${log.slice(-3000)}`);
      });
      expect(replaced).toContain(workers[1]);
      const fresh = replaced.find((pid) => pid !== workers[1])!;
      await until(() => (log.includes(`worker ${fresh} listening`) ? true : undefined), 30_000);
      expect(log).toMatch(new RegExp(`worker ${workers[0]} exited \\(SIGKILL\\) while serving; starting another`));
      // Served throughout by the survivor, and by the new worker once it is up.
      const statuses = await Promise.all(Array.from({ length: 20 }, () => answers(`http://127.0.0.1:${port}/health`)));
      expect(statuses).toEqual(Array(20).fill(200));

      server.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(childrenOf(server.pid!)).toEqual([]);
      expect(await answers(`http://127.0.0.1:${port}/health`)).toBeUndefined();
    }, 90_000);
  });
}

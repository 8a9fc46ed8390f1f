#!/usr/bin/env node
/**
 * `npm run start:dev`: compiles the API in watch mode (tsc --watch into
 * dist-dev/, never dist/, which `npm run start:prod` serves) and restarts the
 * server after each compile without errors, its JSON log made readable by
 * pino-pretty (a devDependency: the server itself always writes JSON).
 *
 * A compile with errors prints them and leaves the running server as it was.
 * A touched source file or a changed .env restarts the server too.
 * A restart waits for the old server to exit (the embedded database allows one
 * process at a time) before starting the new one. SIGINT (Ctrl-C) or SIGTERM
 * stops the compiler and the server, waits for both, and exits.
 * SHUTDOWN_DRAIN_SECONDS defaults to 0 here, so a restart takes no drain.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, watch } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import pretty from 'pino-pretty';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'dist-dev');
/** How long a server may take to exit on SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 15_000;
/** After a watched file changes, how long tsc has to start a compile before the server is restarted as it is. */
const NUDGE_DELAY_MS = 1500;

const dotenv = existsSync(join(ROOT, '.env')) ? parseEnv(readFileSync(join(ROOT, '.env'), 'utf8')) : {};
const serverEnv = { ...process.env };
if (serverEnv.SHUTDOWN_DRAIN_SECONDS === undefined && dotenv.SHUTDOWN_DRAIN_SECONDS === undefined) serverEnv.SHUTDOWN_DRAIN_SECONDS = '0';

const say = (line) => process.stderr.write(`[dev] ${line}\n`);

const prettyOut = pretty({
  colorize: process.stdout.isTTY,
  translateTime: 'SYS:HH:MM:ss.l',
  ignore: 'pid,hostname,context',
  messageFormat: '{if context}[{context}] {end}{msg}',
  sync: true,
});

/** @type {import('node:child_process').ChildProcess | undefined} */
let server;
let stopping = false;
/** Restarts run one after the other. */
let queue = Promise.resolve();

function exited(child) {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once('exit', () => done());
  });
}

async function stopServer() {
  const child = server;
  if (!child) return;
  server = undefined;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited(child);
    clearTimeout(timer);
  }
}

function startServer() {
  const child = spawn(process.execPath, ['--enable-source-maps', join(OUT, 'src', 'main.js')], {
    cwd: ROOT,
    env: serverEnv,
    stdio: ['ignore', 'pipe', 'inherit'],
    // Its own process group: Ctrl-C reaches this script only, which stops the server once, in order.
    detached: true,
  });
  child.stdout.pipe(prettyOut, { end: false });
  child.once('exit', (code, signal) => {
    if (server === child && !stopping) {
      server = undefined;
      say(`the server exited (${signal ?? `code ${code}`}); it starts again after the next change`);
    }
  });
  server = child;
}

function restart() {
  queue = queue.then(async () => {
    if (stopping) return;
    const again = server !== undefined;
    await stopServer();
    if (stopping) return;
    if (again) say('compiled: restarting the server');
    startServer();
  });
}

const tsc = spawn(
  process.execPath,
  [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', OUT, '--watch', '--preserveWatchOutput', '--pretty', 'false'],
  { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], detached: true },
);
/** Whether tsc is compiling, and how many errors its last compile found. */
let compiling = true;
let errors = 0;
let pending = '';
tsc.stdout.setEncoding('utf8');
tsc.stdout.on('data', (chunk) => {
  pending += chunk;
  const lines = pending.split('\n');
  pending = lines.pop() ?? '';
  for (const raw of lines) {
    // tsc's status lines start with the time ("1:05:45 PM - Found 0 errors. Watching for file changes.").
    const line = raw.replace(/^\[?\d{1,2}:\d\d:\d\d(?: [AP]M)?\]? - /, '').trim();
    if (!line) continue;
    const found = /^Found (\d+) errors?\b/.exec(line);
    if (found) {
      compiling = false;
      errors = Number(found[1]);
      if (errors === 0) restart();
      else say(`${errors} compile error(s) above: the server was not restarted`);
    } else if (/^(Starting compilation|File change detected)/.test(line)) {
      compiling = true;
      clearTimeout(nudge);
      say(line.startsWith('Starting') ? 'compiling the API into dist-dev/' : 'change detected: compiling');
    } else {
      process.stderr.write(`${raw}\n`);
    }
  }
});
tsc.once('exit', (code) => {
  if (stopping) return;
  say(`the compiler exited (code ${code}): stopping`);
  void shutdown(1);
});

/**
 * tsc recompiles only when a file's text changes. A touched source file, or
 * a changed .env (which tsc does not read), restarts the server as it is,
 * unless tsc starts a compile meanwhile (which restarts it when done).
 */
let nudge;
function onWatchedChange() {
  clearTimeout(nudge);
  nudge = setTimeout(() => {
    if (compiling || errors > 0 || stopping) return;
    say('a watched file changed with no new code to compile: restarting the server');
    restart();
  }, NUDGE_DELAY_MS);
}
const watchers = [
  ...['src', 'migrations'].map((dir) =>
    watch(join(ROOT, dir), { recursive: true }, (_event, file) => {
      if (file && !/\.spec\.ts$/.test(String(file))) onWatchedChange();
    }),
  ),
  watch(ROOT, (_event, file) => {
    if (file === '.env' || file === 'ormconfig.ts') onWatchedChange();
  }),
];

async function shutdown(status) {
  if (stopping) return;
  stopping = true;
  clearTimeout(nudge);
  for (const watcher of watchers) watcher.close();
  if (tsc.exitCode === null && tsc.signalCode === null) tsc.kill('SIGTERM');
  await queue;
  await Promise.all([stopServer(), exited(tsc)]);
  process.exit(status);
}

// The compiler and the server run in process groups of their own (a terminal's Ctrl-C or hang-up reaches
// this script only; npm forwards its own signal too): one stop, children first.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => void shutdown(0));

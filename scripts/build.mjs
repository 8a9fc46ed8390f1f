#!/usr/bin/env node
/**
 * Builds the API (tsc) and the staff console (vite) into dist/.
 *
 *   node scripts/build.mjs [api|admin|all] [--if-stale] [--out DIR]
 *
 * --if-stale builds a part only when it is missing or older than one of its
 * sources, so `npm start`, `npm run cli` and the migration scripts reuse a
 * current build instead of rebuilding every time. A full API build first
 * removes its old output, so a deleted source leaves no compiled file behind.
 * The console is always built as production (NODE_ENV=production), even when
 * run from a test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

/** What tsconfig.build.json compiles (specs excluded), and the settings that shape it. */
const API_SOURCES = ['src', 'migrations', 'scripts', 'ormconfig.ts', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];
const ADMIN_SOURCES = ['admin', 'client/src', 'package-lock.json'];
/** The API build's own outputs, removed before a full build. */
const API_OUTPUTS = ['src', 'migrations', 'scripts', 'ormconfig.js', 'ormconfig.js.map', 'ormconfig.d.ts'];
const API_STAMP = '.api-built';

function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return /\.spec\.tsx?$/.test(path) ? 0 : stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

function mtime(path) {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

/** True when `output` exists and is at least as new as every one of `sources`. */
export function isCurrent(output, sources) {
  const built = mtime(output);
  return built > 0 && built >= Math.max(...sources.map((s) => newest(join(ROOT, s))));
}

function run(script, args, env = process.env) {
  execFileSync(process.execPath, [join(ROOT, script), ...args], { cwd: ROOT, stdio: 'inherit', env });
}

export function buildApi(out, { ifStale = false } = {}) {
  const stamp = join(out, API_STAMP);
  if (ifStale && isCurrent(stamp, API_SOURCES)) return false;
  if (ifStale) process.stderr.write(`Building the API into ${out} (missing or older than its sources)\n`);
  for (const entry of [...API_OUTPUTS, API_STAMP]) rmSync(join(out, entry), { recursive: true, force: true });
  run('node_modules/typescript/bin/tsc', ['-p', 'tsconfig.build.json', '--outDir', out]);
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  return true;
}

export function buildAdmin(out, { ifStale = false } = {}) {
  const index = join(out, 'admin', 'index.html');
  if (ifStale && isCurrent(index, ADMIN_SOURCES)) return false;
  if (ifStale) process.stderr.write(`Building the staff console into ${join(out, 'admin')} (missing or older than its sources)\n`);
  run(
    'node_modules/vite/bin/vite.js',
    ['build', '--config', 'admin/vite.config.ts', '--outDir', join(out, 'admin'), '--emptyOutDir', '--logLevel', 'warn'],
    { ...process.env, NODE_ENV: 'production' },
  );
  return true;
}

function main(argv) {
  let part = 'all';
  let ifStale = false;
  let out = join(ROOT, 'dist');
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--if-stale') ifStale = true;
    else if (arg === '--out') out = resolve(argv[++i] ?? '');
    else if (['api', 'admin', 'all'].includes(arg)) part = arg;
    else {
      process.stderr.write(`Unknown argument ${arg}\nUsage: node scripts/build.mjs [api|admin|all] [--if-stale] [--out DIR]\n`);
      process.exit(2);
    }
  }
  mkdirSync(out, { recursive: true });
  if (part !== 'admin') buildApi(out, { ifStale });
  if (part !== 'api') buildAdmin(out, { ifStale });
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  try {
    main(process.argv.slice(2));
  } catch {
    // tsc or vite printed why.
    process.exit(1);
  }
}

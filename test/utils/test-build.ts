import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Where tests build the server and the staff console: never dist/, which
 * `npm run start:prod` serves (a test run once left a development console
 * bundle there). Listed in .gitignore.
 */
export const TEST_BUILD_DIR = join(ROOT, 'dist-test');

/** Builds `part` into TEST_BUILD_DIR when it is missing or older than its sources (scripts/build.mjs --if-stale). */
export function ensureTestBuild(part: 'api' | 'all' = 'all'): string {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), part, '--if-stale', '--out', TEST_BUILD_DIR], {
    cwd: ROOT,
    // A failed build throws with tsc's or vite's output in the error.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return TEST_BUILD_DIR;
}

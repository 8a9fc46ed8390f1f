import { execFileSync } from 'node:child_process';

/**
 * The suite runs the built server from dist-test/ (never dist/, which
 * `npm run start:prod` serves): built when it is missing or older than its
 * sources (scripts/build.mjs --if-stale), reused otherwise.
 */
export default function globalSetup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs', 'api', '--if-stale', '--out', 'dist-test'], { stdio: 'inherit' });
}

import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';

/**
 * PGlite is PostgreSQL inside this process: a second process opening the same
 * data directory (say `npm run cli` while `npm start` runs) would write it
 * behind the first one's back, and its changes would be lost or the files
 * damaged. A lock file beside the directory, holding the owner's pid, turns
 * that into a clear error. A lock left by a process that is gone is taken over.
 */
export function lockPGliteDataDir(dataDir: string): void {
  const lockFile = lockFileOf(dataDir);
  const owner = readOwner(lockFile);
  if (owner === process.pid) return;
  if (owner !== undefined && isRunning(owner)) {
    throw new Error(
      `The embedded database in ${dataDir} is in use by process ${owner}; stop it first ` +
        '(PGlite allows one process at a time), or set DATABASE_URL to use PostgreSQL.',
    );
  }
  writeFileSync(lockFile, String(process.pid));
  // A normal exit releases it; so does closing the app (a signal ends the process without 'exit').
  process.once('exit', () => releasePGliteDataDir(dataDir));
}

/** Removes the lock if this process holds it. */
export function releasePGliteDataDir(dataDir: string): void {
  const lockFile = lockFileOf(dataDir);
  try {
    if (readOwner(lockFile) === process.pid) unlinkSync(lockFile);
  } catch {
    // Nothing to release.
  }
}

function lockFileOf(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, '')}.lock`;
}

function readOwner(lockFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
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

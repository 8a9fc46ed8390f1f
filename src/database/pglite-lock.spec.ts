import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { lockPGliteDataDir, releasePGliteDataDir } from './pglite-lock.js';

describe(lockPGliteDataDir.name, () => {
  let root: string;
  let dataDir: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'pglite-lock-'));
    dataDir = join(root, 'pglite');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('takes a free directory: the lock file beside it holds this pid', () => {
    lockPGliteDataDir(dataDir);
    expect(readFileSync(`${dataDir}.lock`, 'utf8')).toBe(String(process.pid));
    // Taking it again in the same process is fine (the CLI and ormconfig build options more than once).
    expect(() => lockPGliteDataDir(dataDir)).not.toThrow();
  });

  it('refuses a directory held by another running process, naming it', () => {
    writeFileSync(`${dataDir}.lock`, String(process.ppid));
    expect(() => lockPGliteDataDir(dataDir)).toThrow(new RegExp(`in use by process ${process.ppid}`));
  });

  it('takes over a lock left by a process that is gone', () => {
    // Far above any pid Linux hands out (pid_max is at most 4194304).
    writeFileSync(`${dataDir}.lock`, '99999999');
    lockPGliteDataDir(dataDir);
    expect(readFileSync(`${dataDir}.lock`, 'utf8')).toBe(String(process.pid));
  });

  it('takes over an unreadable lock', () => {
    writeFileSync(`${dataDir}.lock`, 'not a pid');
    expect(() => lockPGliteDataDir(dataDir)).not.toThrow();
  });

  it('release removes only a lock this process holds', () => {
    lockPGliteDataDir(dataDir);
    releasePGliteDataDir(dataDir);
    expect(existsSync(`${dataDir}.lock`)).toBe(false);

    writeFileSync(`${dataDir}.lock`, String(process.ppid));
    releasePGliteDataDir(dataDir);
    expect(readFileSync(`${dataDir}.lock`, 'utf8')).toBe(String(process.ppid));
  });
});

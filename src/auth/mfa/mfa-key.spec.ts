import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { resolveMfaKeys } from './mfa-key.js';

const KEY = 'an-mfa-encryption-key-that-is-long-enough-0123456789';

describe(resolveMfaKeys.name, () => {
  let dir: string;
  let warn: jest.SpiedFunction<Logger['warn']>;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mfa-key-spec-'));
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    warn.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  });

  it('derives two different 256-bit keys from MFA_ENCRYPTION_KEY, the same every time, writing nothing', () => {
    const a = resolveMfaKeys({ MFA_ENCRYPTION_KEY: KEY, PGLITE_DATA_DIR: join(dir, 'pglite') });
    const b = resolveMfaKeys({ MFA_ENCRYPTION_KEY: KEY, PGLITE_DATA_DIR: join(dir, 'pglite') });
    expect(a.encryption).toHaveLength(32);
    expect(a.recoveryCodes).toHaveLength(32);
    expect(a.encryption.equals(a.recoveryCodes)).toBe(false);
    expect(a.encryption.equals(b.encryption) && a.recoveryCodes.equals(b.recoveryCodes)).toBe(true);
    expect(a.encryption.includes(Buffer.from(KEY))).toBe(false);
    expect(existsSync(join(dir, 'mfa-encryption-key'))).toBe(false);
    expect(warn).not.toHaveBeenCalled();
  });

  it('in development keeps a generated key beside the database (owner-only), reused after a restart', () => {
    const env = { MFA_ENCRYPTION_KEY: undefined, PGLITE_DATA_DIR: join(dir, 'pglite') };
    const first = resolveMfaKeys(env);
    const file = join(dir, 'mfa-encryption-key');
    expect(readFileSync(file, 'utf8')).toMatch(/^[\w-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(resolveMfaKeys(env).encryption.equals(first.encryption)).toBe(true);
    expect(warn.mock.calls[0][0]).toMatch(/MFA_ENCRYPTION_KEY is not set/);
  });

  it('in memory:// a random key per process, and no file', () => {
    const a = resolveMfaKeys({ MFA_ENCRYPTION_KEY: undefined, PGLITE_DATA_DIR: 'memory://' });
    const b = resolveMfaKeys({ MFA_ENCRYPTION_KEY: undefined, PGLITE_DATA_DIR: 'memory://' });
    expect(a.encryption.equals(b.encryption)).toBe(false);
  });
});

import { KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { resolveJwtKey } from './jwt-secret.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';

describe(resolveJwtKey.name, () => {
  let dir: string;
  let warn: jest.SpiedFunction<Logger['warn']>;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jwt-secret-spec-'));
    // Keeps the development-key warnings out of the test output, and lets the specs read them.
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    warn.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('with JWT_SECRET', () => {
    it('is a secret KeyObject holding exactly the secret’s bytes', () => {
      const key = resolveJwtKey({ JWT_SECRET: SECRET, PGLITE_DATA_DIR: 'memory://' });
      expect(key).toBeInstanceOf(KeyObject);
      expect(key.type).toBe('secret');
      expect(key.export().equals(Buffer.from(SECRET, 'utf8'))).toBe(true);
    });

    it('uses the secret as UTF-8, so non-ASCII secrets keep every byte', () => {
      const secret = `${SECRET}-äöü-🔑`;
      const key = resolveJwtKey({ JWT_SECRET: secret, PGLITE_DATA_DIR: 'memory://' });
      expect(key.export().equals(Buffer.from(secret, 'utf8'))).toBe(true);
    });

    it('neither writes a key file beside the database nor warns', () => {
      resolveJwtKey({ JWT_SECRET: SECRET, PGLITE_DATA_DIR: join(dir, 'pglite') });
      expect(readdirSync(dir)).toEqual([]);
      expect(warn).not.toHaveBeenCalled();
    });
  });

  describe('without JWT_SECRET, in-memory database', () => {
    it('is a random 48-byte key, different on every call, and says so', () => {
      const first = resolveJwtKey({ PGLITE_DATA_DIR: 'memory://' });
      const second = resolveJwtKey({ PGLITE_DATA_DIR: 'memory://' });
      expect(first.type).toBe('secret');
      expect(first.symmetricKeySize).toBe(48);
      expect(second.symmetricKeySize).toBe(48);
      expect(first.export().equals(second.export())).toBe(false);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('JWT_SECRET is not set'));
    });
  });

  describe('without JWT_SECRET, database on disk', () => {
    it('creates <dirname(PGLITE_DATA_DIR)>/jwt-secret, readable by the owner only', () => {
      const parent = join(dir, 'nested');
      const file = join(parent, 'jwt-secret');
      const key = resolveJwtKey({ PGLITE_DATA_DIR: join(parent, 'pglite') });
      expect(existsSync(file)).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const contents = readFileSync(file, 'utf8').trim();
      expect(contents.length).toBeGreaterThanOrEqual(48);
      expect(key.type).toBe('secret');
      expect(key.export().equals(Buffer.from(contents, 'utf8'))).toBe(true);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining(file));
    });

    it('returns the same key on a later call, so tokens survive a restart', () => {
      const env = { PGLITE_DATA_DIR: join(dir, 'pglite') };
      const first = resolveJwtKey(env);
      const contents = readFileSync(join(dir, 'jwt-secret'), 'utf8');
      const second = resolveJwtKey(env);
      expect(second.export().equals(first.export())).toBe(true);
      expect(readFileSync(join(dir, 'jwt-secret'), 'utf8')).toBe(contents);
    });

    it('keeps a key file that is already there', () => {
      const existing = 'kept-from-an-earlier-run-0123456789-abcdefghijklmnop';
      writeFileSync(join(dir, 'jwt-secret'), `${existing}\n`, { mode: 0o600 });
      const key = resolveJwtKey({ PGLITE_DATA_DIR: join(dir, 'pglite') });
      expect(key.export().equals(Buffer.from(existing, 'utf8'))).toBe(true);
    });
  });
});

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Logger } from '@nestjs/common';

export interface SecretSource {
  /** The variable that sets it, for the log line (JWT_SECRET). */
  name: string;
  /** Its configured value, if any: it wins. */
  value?: string;
  /** The embedded database's directory: the generated secret is kept beside it (or nowhere, for `memory://`). */
  pgliteDataDir: string;
  /** The file's name beside the data directory (`jwt-secret`). */
  file: string;
  /** Random bytes of a generated secret. */
  bytes: number;
  /** Say in the log that the development secret is in use (once per secret the operator sets). */
  announce: boolean;
}

/**
 * A secret production must set (env validation refuses to start without it)
 * and development may leave unset: then a random one is generated once and
 * kept, readable by the owner only, beside the embedded database, so what it
 * protects (tokens, second factors, cursors) survives a restart; with an
 * in-memory database it lives as long as the process. The key material:
 * the configured value's or the file's UTF-8 bytes, or fresh random bytes.
 */
export function configuredSecret(source: SecretSource): Buffer {
  if (source.value) return Buffer.from(source.value, 'utf8');
  const logger = new Logger('Secrets');
  if (source.pgliteDataDir.startsWith('memory://')) {
    if (source.announce) logger.warn(`${source.name} is not set: using a random key for this process only`);
    return randomBytes(source.bytes);
  }
  const file = join(dirname(source.pgliteDataDir), source.file);
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    // 'wx': of two processes starting at once, one writes and both read its secret.
    try {
      writeFileSync(file, randomBytes(source.bytes).toString('base64url'), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  if (source.announce) {
    logger.warn(`${source.name} is not set: using the development key kept in ${file}; set ${source.name} in production`);
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8');
}

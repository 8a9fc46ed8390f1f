import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Logger } from '@nestjs/common';
import type { EnvironmentVariables } from '../config/env.validation.js';

/**
 * The HS256 key as a KeyObject. jsonwebtoken 9, given a string, tries to parse
 * it as a PEM public key on every verify (about 0.8 ms on Node 20); a
 * KeyObject skips that.
 *
 * Production must set JWT_SECRET (env validation refuses to start otherwise).
 * In development a random key is generated once and kept beside the embedded
 * database, so tokens survive restarts; in memory-only setups it lives as long
 * as the process.
 */
export function resolveJwtKey(env: Pick<EnvironmentVariables, 'JWT_SECRET' | 'PGLITE_DATA_DIR'>): KeyObject {
  if (env.JWT_SECRET) return createSecretKey(Buffer.from(env.JWT_SECRET, 'utf8'));

  const logger = new Logger('JwtSecret');
  if (env.PGLITE_DATA_DIR.startsWith('memory://')) {
    logger.warn('JWT_SECRET is not set: using a random key for this process only');
    return createSecretKey(randomBytes(48));
  }
  const file = join(dirname(env.PGLITE_DATA_DIR), 'jwt-secret');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600 });
  }
  logger.warn(`JWT_SECRET is not set: using the development key kept in ${file}; set JWT_SECRET in production`);
  return createSecretKey(Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8'));
}

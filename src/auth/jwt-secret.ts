import { createSecretKey, type KeyObject } from 'node:crypto';
import { configuredSecret } from '../config/dev-secret.js';

/**
 * The HS256 key as a KeyObject. jsonwebtoken 9, given a string, tries to parse
 * it as a PEM public key on every verify (about 0.8 ms on Node 20); a
 * KeyObject skips that. JWT_SECRET in production; in development generated
 * once beside the embedded database (see configuredSecret).
 */
export function resolveJwtKey(env: { JWT_SECRET?: string; PGLITE_DATA_DIR: string }): KeyObject {
  return createSecretKey(
    configuredSecret({ name: 'JWT_SECRET', value: env.JWT_SECRET, pgliteDataDir: env.PGLITE_DATA_DIR, file: 'jwt-secret', bytes: 48, announce: true }),
  );
}

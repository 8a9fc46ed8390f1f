import { hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Logger } from '@nestjs/common';
import type { EnvironmentVariables } from '../../config/env.validation.js';

/** DI token of the MfaKeys (below). */
export const MFA_KEYS = Symbol('MFA_KEYS');

/** Two independent 256-bit keys derived from MFA_ENCRYPTION_KEY, one per use. */
export interface MfaKeys {
  /** AES-256-GCM key of the TOTP secrets at rest. */
  encryption: Buffer;
  /** HMAC-SHA256 key of the recovery codes' hashes. */
  recoveryCodes: Buffer;
}

function derive(material: Buffer): MfaKeys {
  const key = (info: string) => Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), info, 32));
  return { encryption: key('healthcare-api mfa secret encryption v1'), recoveryCodes: key('healthcare-api mfa recovery codes v1') };
}

/**
 * The keys that protect second factors, from a secret the database never
 * holds: someone with only a copy of the database can neither read the TOTP
 * secrets nor test guesses against the recovery codes' hashes.
 *
 * Production must set MFA_ENCRYPTION_KEY (env validation refuses to start
 * otherwise). In development a random one is generated once and kept beside
 * the embedded database, as the JWT secret is (see ../jwt-secret.ts); in
 * memory-only setups it lives as long as the process. Losing the key loses
 * every enrolled second factor (each must be set up again).
 */
export function resolveMfaKeys(env: Pick<EnvironmentVariables, 'MFA_ENCRYPTION_KEY' | 'PGLITE_DATA_DIR'>): MfaKeys {
  if (env.MFA_ENCRYPTION_KEY) return derive(Buffer.from(env.MFA_ENCRYPTION_KEY, 'utf8'));

  const logger = new Logger('MfaKey');
  if (env.PGLITE_DATA_DIR.startsWith('memory://')) {
    logger.warn('MFA_ENCRYPTION_KEY is not set: using a random key for this process only');
    return derive(randomBytes(32));
  }
  const file = join(dirname(env.PGLITE_DATA_DIR), 'mfa-encryption-key');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  }
  logger.warn(`MFA_ENCRYPTION_KEY is not set: using the development key kept in ${file}; set MFA_ENCRYPTION_KEY in production`);
  return derive(Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8'));
}

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Logger } from '@nestjs/common';
import { type ChainKeys, deriveChainKeys } from './audit-chain.js';

/**
 * The audit chain's key (AUDIT_CHAIN_KEY), which the database never sees.
 * Production must set it (env validation refuses to start otherwise); every
 * instance and the CLI must share it. In development a random key is made
 * once and kept beside the embedded database, like the JWT secret
 * (src/auth/jwt-secret.ts); in memory-only setups it lives as long as the
 * process.
 */
export function resolveAuditChainKeys(chainKey: string | undefined, pgliteDataDir: string): ChainKeys {
  if (chainKey) return deriveChainKeys(Buffer.from(chainKey, 'utf8'));
  const logger = new Logger('AuditChainKey');
  if (pgliteDataDir.startsWith('memory://')) {
    logger.warn('AUDIT_CHAIN_KEY is not set: using a random key for this process only');
    return deriveChainKeys(randomBytes(48));
  }
  const file = join(dirname(pgliteDataDir), 'audit-chain-key');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  logger.warn(`AUDIT_CHAIN_KEY is not set: using the development key kept in ${file}; set AUDIT_CHAIN_KEY in production`);
  return deriveChainKeys(Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8'));
}

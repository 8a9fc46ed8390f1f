import { configuredSecret } from '../config/dev-secret.js';
import { type ChainKeys, deriveChainKeys } from './audit-chain.js';

/**
 * The audit chain's key (AUDIT_CHAIN_KEY), which the database never sees.
 * Production must set it (env validation refuses to start otherwise); every
 * instance and the CLI must share it. In development a random key is made
 * once and kept beside the embedded database, like the JWT secret; in
 * memory-only setups it lives as long as the process.
 */
export function resolveAuditChainKeys(chainKey: string | undefined, pgliteDataDir: string): ChainKeys {
  return deriveChainKeys(
    configuredSecret({ name: 'AUDIT_CHAIN_KEY', value: chainKey, pgliteDataDir, file: 'audit-chain-key', bytes: 48, announce: true }),
  );
}

import { hkdfSync } from 'node:crypto';
import { configuredSecret } from '../../config/dev-secret.js';

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
 * Production must set MFA_ENCRYPTION_KEY; in development it is generated
 * once beside the embedded database (see configuredSecret). Losing the key loses
 * every enrolled second factor (each must be set up again).
 */
export function resolveMfaKeys(env: { MFA_ENCRYPTION_KEY?: string; PGLITE_DATA_DIR: string }): MfaKeys {
  return derive(
    configuredSecret({
      name: 'MFA_ENCRYPTION_KEY',
      value: env.MFA_ENCRYPTION_KEY,
      pgliteDataDir: env.PGLITE_DATA_DIR,
      file: 'mfa-encryption-key',
      bytes: 32,
      announce: true,
    }),
  );
}

import { createHmac, randomInt } from 'node:crypto';

export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base32 without the letters people misread (no i, l, o, u). */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const GROUPS = 3;
const GROUP_LENGTH = 4;
/** The longest text that could be a recovery code once spaces and dashes are dropped. */
export const RECOVERY_CODE_MAX_INPUT = 64;

/** Ten codes like `7k2m-x9qd-4hz1`: 60 random bits each. */
export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () =>
    Array.from({ length: GROUPS }, () =>
      Array.from({ length: GROUP_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join(''),
    ).join('-'),
  );
}

/** The form that is hashed: lower case, without spaces and dashes, as people type them back. */
export function normalizeRecoveryCode(input: string): string {
  return input.toLowerCase().replace(/[\s-]/g, '');
}

/**
 * HMAC-SHA256 under a key the database never holds (see mfa-key.ts). The
 * codes carry 60 random bits, so a slow password hash adds nothing; the key
 * keeps a stolen table from being searched offline.
 */
export function hashRecoveryCode(key: Buffer, code: string): string {
  return createHmac('sha256', key).update(normalizeRecoveryCode(code), 'utf8').digest('base64url');
}

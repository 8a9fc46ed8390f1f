import { generateSecret, generateURI, verifySync } from 'otplib';

/** RFC 6238 as authenticator apps use it: SHA-1, 6 digits, 30-second steps. */
export const TOTP_DIGITS = 6;
export const TOTP_PERIOD = 30;
/** One step either side of now (RFC 6238 section 5.2 recommends at most one for clock drift). */
const TOLERANCE_SECONDS = TOTP_PERIOD;
/** 160 bits, the size RFC 4226 recommends. */
const SECRET_BYTES = 20;
const TOTP_PATTERN = new RegExp(`^\\d{${TOTP_DIGITS}}$`);

/** A new base32 secret for an authenticator app. */
export function newTotpSecret(): string {
  return generateSecret({ length: SECRET_BYTES });
}

/** The otpauth:// URI an authenticator app reads from a QR code. */
export function totpUri(secret: string, issuer: string, account: string): string {
  return generateURI({ issuer, label: account, secret, algorithm: 'sha1', digits: TOTP_DIGITS, period: TOTP_PERIOD });
}

/** Whether the text is shaped like a TOTP code (else it may be a recovery code). */
export function looksLikeTotp(code: string): boolean {
  return TOTP_PATTERN.test(code);
}

/**
 * The time step the code belongs to, if it is right for now (one step of
 * drift either way) and newer than `afterStep`, the last step this account
 * used: a code is never accepted twice. null otherwise.
 */
export function verifyTotp(secret: string, code: string, afterStep: number | null, now = Date.now()): number | null {
  if (!looksLikeTotp(code)) return null;
  try {
    const result = verifySync({
      secret,
      token: code,
      algorithm: 'sha1',
      digits: TOTP_DIGITS,
      period: TOTP_PERIOD,
      epoch: Math.floor(now / 1000),
      epochTolerance: TOLERANCE_SECONDS,
      ...(afterStep === null ? {} : { afterTimeStep: afterStep }),
    });
    // otplib types TOTP and HOTP results as one union: only a TOTP result has timeStep.
    return result.valid && 'timeStep' in result ? result.timeStep : null;
  } catch {
    // otplib refuses an afterTimeStep past the window (a clock set back): no code can be fresh then.
    return null;
  }
}

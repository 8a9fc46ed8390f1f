import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { hashRecoveryCode, newRecoveryCodes, normalizeRecoveryCode, RECOVERY_CODE_COUNT } from './recovery-codes.js';
import { openSecret, sealSecret } from './secret-box.js';

describe('sealSecret / openSecret (AES-256-GCM)', () => {
  const key = randomBytes(32);
  const user = randomUUID();
  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

  it('round-trips, with a fresh IV each time, and never holds the plaintext', () => {
    const a = sealSecret(key, secret, user);
    const b = sealSecret(key, secret, user);
    expect(a).not.toBe(b);
    expect(a).not.toContain(secret);
    expect(a).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(openSecret(key, a, user)).toBe(secret);
  });

  it('another key, another user (the additional data) or any altered byte: null', () => {
    const sealed = sealSecret(key, secret, user);
    expect(openSecret(randomBytes(32), sealed, user)).toBeNull();
    expect(openSecret(key, sealed, randomUUID())).toBeNull();
    const [v, iv, tag, ct] = sealed.split('.');
    const flipped = Buffer.from(ct, 'base64url');
    flipped[0] ^= 1;
    expect(openSecret(key, [v, iv, tag, flipped.toString('base64url')].join('.'), user)).toBeNull();
    for (const bad of ['', 'v1', 'v2.a.b.c', 'v1.AAAA.AAAA.AAAA', `${sealed}.x`]) expect(openSecret(key, bad, user)).toBeNull();
  });
});

describe('recovery codes', () => {
  const key = randomBytes(32);

  it('ten distinct codes of three groups of four, from an alphabet without look-alikes', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(RECOVERY_CODE_COUNT);
    expect(new Set(codes).size).toBe(RECOVERY_CODE_COUNT);
    for (const code of codes) expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$/);
  });

  it('the hash ignores case, spaces and dashes (as people type codes back), and depends on the key', () => {
    const [code] = newRecoveryCodes(1);
    expect(normalizeRecoveryCode(` ${code.toUpperCase().replaceAll('-', ' ')} `)).toBe(code.replaceAll('-', ''));
    expect(hashRecoveryCode(key, code.toUpperCase())).toBe(hashRecoveryCode(key, code));
    expect(hashRecoveryCode(key, code)).not.toBe(hashRecoveryCode(randomBytes(32), code));
    expect(hashRecoveryCode(key, code)).not.toContain(code.replaceAll('-', ''));
  });
});

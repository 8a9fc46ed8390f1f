import { describe, expect, it } from '@jest/globals';
import { generateSync } from 'otplib';
import { looksLikeTotp, newTotpSecret, TOTP_PERIOD, totpUri, verifyTotp } from './totp.js';

/** RFC 6238 Appendix B: the ASCII seeds, per hash. */
const SEEDS = {
  sha1: Buffer.from('12345678901234567890', 'ascii'),
  sha256: Buffer.from('12345678901234567890123456789012', 'ascii'),
  sha512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234', 'ascii'),
};

/** RFC 6238 Appendix B: time (s), then the 8-digit TOTP for SHA1, SHA256 and SHA512. */
const VECTORS: Array<[number, string, string, string]> = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

describe('TOTP (RFC 6238)', () => {
  describe('the library computes every test vector of RFC 6238 Appendix B', () => {
    it.each(VECTORS)('T = %i s', (time, sha1, sha256, sha512) => {
      const code = (algorithm: keyof typeof SEEDS) =>
        generateSync({ secret: new Uint8Array(SEEDS[algorithm]), algorithm, digits: 8, period: 30, epoch: time });
      expect({ sha1: code('sha1'), sha256: code('sha256'), sha512: code('sha512') }).toEqual({ sha1, sha256, sha512 });
    });
  });

  describe(verifyTotp.name, () => {
    const secret = newTotpSecret();
    const now = 1_796_287_163_000;
    const step = Math.floor(now / 1000 / TOTP_PERIOD);
    const codeAt = (s: number) => generateSync({ secret, epoch: s * TOTP_PERIOD });

    it('a new secret is base32 of 160 bits', () => {
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(newTotpSecret()).not.toBe(secret);
    });

    it("accepts the current step's code, and one step of drift either way, returning the step", () => {
      expect(verifyTotp(secret, codeAt(step), null, now)).toBe(step);
      expect(verifyTotp(secret, codeAt(step - 1), null, now)).toBe(step - 1);
      expect(verifyTotp(secret, codeAt(step + 1), null, now)).toBe(step + 1);
    });

    it('refuses codes two steps away, and other secrets', () => {
      expect(verifyTotp(secret, codeAt(step - 2), null, now)).toBeNull();
      expect(verifyTotp(secret, codeAt(step + 2), null, now)).toBeNull();
      expect(verifyTotp(newTotpSecret(), codeAt(step), null, now)).toBeNull();
    });

    it('refuses a step at or before the last one used (no replay), and accepts a later one', () => {
      expect(verifyTotp(secret, codeAt(step), step, now)).toBeNull();
      expect(verifyTotp(secret, codeAt(step - 1), step, now)).toBeNull();
      expect(verifyTotp(secret, codeAt(step + 1), step, now)).toBe(step + 1);
    });

    it('a last step beyond the window (a clock set back) refuses every code instead of throwing', () => {
      expect(verifyTotp(secret, codeAt(step), step + 100, now)).toBeNull();
    });

    it.each(['', '12345', '1234567', '12345a', ' 123456', '１２３４５６', '123456\n'])('refuses %j without trying it', (code) => {
      expect(looksLikeTotp(code)).toBe(false);
      expect(verifyTotp(secret, code, null, now)).toBeNull();
    });
  });

  it('the otpauth URI names the issuer, the account and the parameters apps need', () => {
    const uri = new URL(totpUri('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', 'Healthcare API', 'ada'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Healthcare API:ada');
    expect(Object.fromEntries(uri.searchParams)).toMatchObject({
      secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
      issuer: 'Healthcare API',
    });
  });
});

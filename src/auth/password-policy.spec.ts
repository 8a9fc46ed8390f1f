import { describe, expect, it } from '@jest/globals';
import { checkPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password-policy.js';

describe(checkPassword.name, () => {
  const context = { username: 'ada_lovelace', email: 'countess@analytical.example' };

  it('accepts a good passphrase', () => {
    expect(checkPassword('Quiet-Harbour-Lantern-42', context)).toEqual([]);
  });

  it('enforces 8 to 128 characters, both ends inclusive', () => {
    const of = (n: number) => 'Zq7-harbour-'.repeat(20).slice(0, n);
    expect(checkPassword(of(PASSWORD_MIN_LENGTH - 1))).toEqual(['password must be at least 8 characters']);
    expect(checkPassword(of(PASSWORD_MIN_LENGTH))).toEqual([]);
    expect(checkPassword(of(PASSWORD_MAX_LENGTH))).toEqual([]);
    expect(checkPassword(of(PASSWORD_MAX_LENGTH + 1))).toEqual(['password must be at most 128 characters']);
  });

  it('counts characters, not UTF-16 code units', () => {
    // Four emoji are eight code units but four characters.
    expect(checkPassword('🩺🫀🧬💊')).toContain('password must be at least 8 characters');
    expect(checkPassword('🩺🫀🧬💊🩻🦴🧪🌡')).toEqual([]);
    expect(checkPassword('🩺'.repeat(PASSWORD_MAX_LENGTH))).toEqual([]);
    expect(checkPassword('🩺'.repeat(PASSWORD_MAX_LENGTH + 1))).toContain('password must be at most 128 characters');
  });

  it('refuses an entirely numeric password', () => {
    expect(checkPassword('80417395261837')).toEqual(['password must not be entirely numeric']);
    expect(checkPassword('80417395261837x')).toEqual([]);
  });

  it.each(['password123', 'PASSWORD123', ' Password123 ', 'qwerty123', 'trustno1'])(
    'refuses the common password %j, whatever its case',
    (password) => {
      expect(checkPassword(password)).toContain('password is too common');
    },
  );

  it('refuses a password too similar to the username or the email, or a part of them', () => {
    expect(checkPassword('ada_lovelace1', context)).toEqual(['password is too similar to the username']);
    expect(checkPassword('LOVELACE-ada', context)).toEqual(['password is too similar to the username']);
    expect(checkPassword('analytical!!', context)).toEqual(['password is too similar to the email']);
    expect(checkPassword('countess@analytical', context)).toEqual(['password is too similar to the email']);
  });

  it('skips attributes that are missing or empty', () => {
    expect(checkPassword('ada_lovelace1', { username: '', email: undefined })).toEqual([]);
  });

  it('reports every rule broken at once', () => {
    expect(checkPassword('1234567', { username: '1234567' })).toEqual([
      'password must be at least 8 characters',
      'password must not be entirely numeric',
      'password is too common',
      'password is too similar to the username',
    ]);
  });
});

import { createHmac, createSecretKey, randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { Test } from '@nestjs/testing';
import { JWT_KEY } from './auth.constants.js';
import { AccessTokenRefused, TokensService } from './tokens.service.js';
import { AppConfig, validate } from '../config/app-config.js';

const SECRET = 'unit-test-secret-that-is-long-enough-0123456789';

const decode = (token: string, part = 1) => JSON.parse(Buffer.from(token.split('.')[part], 'base64url').toString('utf8'));

describe(TokensService.name, () => {
  let tokens: TokensService;
  const sub = randomUUID();
  const sid = randomUUID();
  const inTwelveHours = () => new Date(Date.now() + 43_200_000);

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      providers: [
        TokensService,
        JwtService,
        { provide: JWT_KEY, useValue: createSecretKey(Buffer.from(SECRET)) },
        { provide: AppConfig, useValue: validate({ JWT_ACCESS_TTL: '900', JWT_REFRESH_IDLE_TTL: '1800' }) },
      ],
    }).compile();
    tokens = moduleRef.get(TokensService);
  });

  it('signs access tokens with HS256: sub, sid, jti, typ, iat and exp 15 minutes later', () => {
    const token = tokens.signAccess(sub, sid);
    expect(decode(token, 0)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = decode(token);
    expect(claims).toEqual({
      sub,
      sid,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      typ: 'access',
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
    expect(claims.exp - claims.iat).toBe(900);
    expect(tokens.signAccess(sub, sid)).not.toBe(token);
  });

  it('signs refresh tokens for the idle timeout, never past the session’s absolute end', () => {
    const jti = randomUUID();
    const normal = decode(tokens.signRefresh(sub, sid, jti, inTwelveHours()));
    expect(normal).toMatchObject({ sub, sid, jti, typ: 'refresh' });
    expect(normal.exp - normal.iat).toBe(1800);

    const nearEnd = decode(tokens.signRefresh(sub, sid, jti, new Date(Date.now() + 12_500)));
    expect(nearEnd.exp - nearEnd.iat).toBeLessThanOrEqual(12);
    expect(nearEnd.exp - nearEnd.iat).toBeGreaterThanOrEqual(11);
  });

  it('verifyRefresh returns the claims of a refresh token it signed', () => {
    const jti = randomUUID();
    const token = tokens.signRefresh(sub, sid, jti, inTwelveHours());
    expect(tokens.verifyRefresh(token)).toMatchObject({ sub, sid, jti, typ: 'refresh' });
  });

  it.each<[string, () => string]>([
    ['an access token', () => tokens.signAccess(sub, sid)],
    ['an HS512 token signed with the right key', () => {
      const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const claims = { sub, sid, jti: randomUUID(), typ: 'refresh', iat: now, exp: now + 60 };
      const input = `${part({ alg: 'HS512', typ: 'JWT' })}.${part(claims)}`;
      return `${input}.${createHmac('sha512', SECRET).update(input).digest('base64url')}`;
    }],
    ['an unsigned token', () => {
      const [, payload] = tokens.signRefresh(sub, sid, randomUUID(), inTwelveHours()).split('.');
      return `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    }],
    ['garbage', () => 'garbage'],
  ])('verifyRefresh refuses %s with a 401', (_label, forge) => {
    expect(() => tokens.verifyRefresh(forge())).toThrow(UnauthorizedException);
  });

  describe('verifyAccess', () => {
    afterEach(() => {
      jest.restoreAllMocks();
    });
    const reasonOf = (token: string) => {
      try {
        tokens.verifyAccess(token);
        return 'accepted';
      } catch (error) {
        return error instanceof AccessTokenRefused ? error.reason : error;
      }
    };

    it('returns the claims of an access token it signed; the same text again is answered without a second signature check', () => {
      const token = tokens.signAccess(sub, sid);
      expect(tokens.verifyAccess(token)).toMatchObject({ sub, sid, typ: 'access' });
      const jwt = (tokens as unknown as { jwt: JwtService }).jwt;
      const verify = jest.spyOn(jwt, 'verify');
      expect(tokens.verifyAccess(token)).toMatchObject({ sub, sid, typ: 'access' });
      expect(verify).not.toHaveBeenCalled();
    });

    it('refuses a remembered token as expired once the second of its exp is reached, and forgets it', () => {
      const token = tokens.signAccess(sub, sid);
      const { exp } = tokens.verifyAccess(token);
      const now = jest.spyOn(Date, 'now').mockReturnValue(exp * 1000 - 1);
      expect(reasonOf(token)).toBe('accepted');
      now.mockReturnValue(exp * 1000);
      expect(reasonOf(token)).toBe('expired_token');
      // Forgotten: the next check is jsonwebtoken's own, which says the same.
      const verify = jest.spyOn((tokens as unknown as { jwt: JwtService }).jwt, 'verify');
      expect(reasonOf(token)).toBe('expired_token');
      expect(verify).toHaveBeenCalledTimes(1);
    });

    it.each<[string, () => string]>([
      ['a refresh token', () => tokens.signRefresh(sub, sid, randomUUID(), inTwelveHours())],
      ['a token with a crit header', () => {
        const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
        const now = Math.floor(Date.now() / 1000);
        const input = `${part({ alg: 'HS256', typ: 'JWT', crit: ['x'], x: 1 })}.${part({ sub, sid, jti: randomUUID(), typ: 'access', iat: now, exp: now + 60 })}`;
        return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
      }],
      ['a token whose ids are not UUIDs', () => tokens.signAccess('1 OR 1=1', sid)],
      ['a tampered copy of a remembered token', () => {
        const token = tokens.signAccess(sub, sid);
        tokens.verifyAccess(token);
        return `${token.slice(0, -2)}${token.endsWith('AA') ? 'AB' : 'AA'}`;
      }],
      ['garbage', () => 'garbage'],
    ])('refuses %s as invalid_token, every time', (_label, forge) => {
      const token = forge();
      expect(reasonOf(token)).toBe('invalid_token');
      expect(reasonOf(token)).toBe('invalid_token');
    });
  });
});

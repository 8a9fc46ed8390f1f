import { createHmac, createSecretKey, randomUUID } from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { type ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import { Test } from '@nestjs/testing';
import { AppConfig } from '../config/app-config.js';
import { type AuthUser } from './current-user.decorator.js';
import { Public } from './public.decorator.js';
import { isRefusal } from '../common/refusal.js';
import { AnonymousRateLimiter } from '../throttling/anonymous-rate-limiter.js';
import { JWT_KEY } from './auth.constants.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { TokensService } from './tokens.service.js';
import { SessionsService } from './sessions.service.js';

const SECRET = 'unit-test-secret-that-is-long-enough-0123456789';

class ExampleController {
  guarded() {}
  @Public()
  open() {}
}

function sign(claims: Record<string, unknown>, { alg = 'HS256', key = SECRET } = {}): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part({ alg, typ: 'JWT' })}.${part(claims)}`;
  const hmac = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg];
  return `${input}.${hmac ? createHmac(hmac, key).update(input).digest('base64url') : ''}`;
}

function context(handler: keyof ExampleController, authorization?: string) {
  const request: { headers: Record<string, string>; user?: AuthUser } = {
    headers: authorization ? { authorization } : {},
  };
  const ctx = {
    getType: () => 'http',
    getClass: () => ExampleController,
    getHandler: () => ExampleController.prototype[handler],
    getArgs: () => [request, {}],
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({}), getNext: () => undefined }),
  } as unknown as ExecutionContext;
  return { ctx, request };
}

describe(JwtAuthGuard.name, () => {
  let guard: JwtAuthGuard;
  const authenticate = jest.fn<SessionsService['authenticate']>();
  const charge = jest.fn<AnonymousRateLimiter['charge']>();
  const userId = randomUUID();
  const sessionId = randomUUID();
  const caller: AuthUser = { id: userId, username: 'ada', role: 'user', sessionId };

  const claims = (overrides: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return { sub: userId, sid: sessionId, jti: randomUUID(), typ: 'access', iat: now, exp: now + 900, ...overrides };
  };
  const run = (token?: string, handler: keyof ExampleController = 'guarded') => {
    const { ctx, request } = context(handler, token === undefined ? undefined : `Bearer ${token}`);
    return { result: Promise.resolve(guard.canActivate(ctx) as boolean | Promise<boolean>), request };
  };
  const expect401 = async (token: string | undefined, detail?: RegExp, reason?: string) => {
    const error = await run(token).result.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnauthorizedException);
    if (detail) expect((error as UnauthorizedException).message).toMatch(detail);
    // The reason travels on the exception, for the exception filter to record.
    expect(isRefusal(error) && error.refusalReason).toEqual(reason ?? expect.any(String));
  };

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      providers: [
        JwtAuthGuard,
        Reflector,
        TokensService,
        JwtService,
        { provide: AppConfig, useValue: { auth: { accessTtl: 900, refreshIdleTtl: 3600 } } },
        { provide: JWT_KEY, useValue: createSecretKey(Buffer.from(SECRET)) },
        { provide: SessionsService, useValue: { authenticate } },
        { provide: AnonymousRateLimiter, useValue: { charge } },
      ],
    }).compile();
    guard = moduleRef.get(JwtAuthGuard);
  });
  beforeEach(() => {
    authenticate.mockReset();
    authenticate.mockResolvedValue(caller);
    charge.mockReset();
    charge.mockResolvedValue(undefined);
  });

  it('lets @Public() routes through without a token or a session check', async () => {
    await expect(run(undefined, 'open').result).resolves.toBe(true);
    expect(authenticate).not.toHaveBeenCalled();
  });

  it('accepts an HS256 access token of a live session and sets request.user', async () => {
    const { result, request } = run(sign(claims()));
    await expect(result).resolves.toBe(true);
    expect(request.user).toEqual(caller);
    expect(authenticate).toHaveBeenCalledWith(sessionId, userId);
  });

  it('401 without a token', async () => {
    await expect401(undefined, /not provided or are invalid/, 'no_token');
  });

  it.each([
    ['alg none', () => sign(claims(), { alg: 'none' })],
    ['HS384', () => sign(claims(), { alg: 'HS384' })],
    ['HS512', () => sign(claims(), { alg: 'HS512' })],
    ['another key', () => sign(claims(), { key: `${SECRET}!` })],
    ['a tampered payload', () => {
      const [header, , signature] = sign(claims()).split('.');
      return `${header}.${Buffer.from(JSON.stringify(claims({ sub: randomUUID() }))).toString('base64url')}.${signature}`;
    }],
  ])('401 for %s, before any session check', async (_label, forge) => {
    await expect401(forge());
    expect(authenticate).not.toHaveBeenCalled();
  });

  it.each([
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['a bearer without a token', 'Bearer '],
    ['two tokens', `Bearer ${'a.b.c'} ${'d.e.f'}`],
  ])('401 invalid_token for an Authorization header with %s, before any session check', async (_label, header) => {
    const { ctx } = context('guarded', header);
    const error = await Promise.resolve(guard.canActivate(ctx)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnauthorizedException);
    expect(isRefusal(error) && error.refusalReason).toBe('invalid_token');
    expect(authenticate).not.toHaveBeenCalled();
  });

  it('accepts the scheme in any case, as RFC 6750 allows', async () => {
    const { ctx, request } = context('guarded', `bEaReR ${sign(claims())}`);
    await expect(guard.canActivate(ctx)).resolves.toBe(true);
    expect(request.user).toEqual(caller);
  });

  it('401 for an expired token, saying it expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expect401(sign(claims({ iat: now - 1000, exp: now - 1 })), /expired/, 'expired_token');
  });

  it('401 for a refresh token, or a token without a type', async () => {
    await expect401(sign(claims({ typ: 'refresh' })));
    await expect401(sign(claims({ typ: undefined })));
    expect(authenticate).not.toHaveBeenCalled();
  });

  it('401 when the session has ended or the user is inactive', async () => {
    authenticate.mockResolvedValue(null);
    await expect401(sign(claims()), /session has ended/, 'session_ended');
  });

  it('keeps the error of a failed session check (e.g. the database is down) instead of hiding it as a 401', async () => {
    const down = new Error('connection refused');
    authenticate.mockRejectedValue(down);
    await expect(run(sign(claims())).result).rejects.toBe(down);
  });

  describe('the anonymous budget (AnonymousRateLimiter)', () => {
    const limited = Object.assign(new Error('429'), { status: 429 });

    it('charges a request without a token before any token work; past the budget its 429 wins', async () => {
      charge.mockRejectedValue(limited);
      await expect(run(undefined).result).rejects.toBe(limited);
      expect(charge).toHaveBeenCalledTimes(1);
      expect(authenticate).not.toHaveBeenCalled();
    });

    it('charges a token that does not check out (forged, expired, of an ended session), once', async () => {
      const now = Math.floor(Date.now() / 1000);
      await expect401('not.a.token', undefined, 'invalid_token');
      await expect401(sign(claims({ iat: now - 1000, exp: now - 1 })), undefined, 'expired_token');
      authenticate.mockResolvedValue(null);
      await expect401(sign(claims()), undefined, 'session_ended');
      expect(charge).toHaveBeenCalledTimes(3);
      charge.mockRejectedValue(limited);
      await expect(run('not.a.token').result).rejects.toBe(limited);
    });

    it('never charges a valid token, a @Public() route or a failed session check', async () => {
      await expect(run(sign(claims())).result).resolves.toBe(true);
      await expect(run(undefined, 'open').result).resolves.toBe(true);
      authenticate.mockRejectedValue(new Error('connection refused'));
      await expect(run(sign(claims())).result).rejects.toThrow('connection refused');
      expect(charge).not.toHaveBeenCalled();
    });
  });
});

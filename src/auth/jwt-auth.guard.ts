import { type CanActivate, type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthUser } from './current-user.decorator.js';
import { IS_PUBLIC_KEY } from './public.decorator.js';
import { SessionsService } from './sessions.service.js';
import { AccessTokenRefused, TokensService } from './tokens.service.js';
import { isRefusal, refusal } from '../common/refusal.js';
import { AnonymousRateLimiter } from '../throttling/anonymous-rate-limiter.js';

interface GuardedRequest {
  ip?: string;
  headers?: Record<string, string | string[] | undefined>;
  user?: AuthUser;
}

/** `Authorization: Bearer <token>` (scheme case-insensitive), as RFC 6750 section 2.1 sends it. */
const BEARER = /^\s*bearer\s+(\S+)\s*$/i;

/**
 * The global guard (APP_GUARD): every route needs a valid access token unless
 * marked @Public(). The token is checked by TokensService.verifyAccess, then
 * the session and user behind it by SessionsService (cached for a couple of
 * seconds); the user becomes `request.user`. A request without a token is
 * first charged to its client IP's anonymous budget (AnonymousRateLimiter):
 * with no Authorization header before anything else, with a token that does
 * not check out right after the check; past the budget it gets 429 instead of
 * 401. Refusals carry their reason; the exception filter records them.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly anonymous: AnonymousRateLimiter,
    private readonly tokens: TokensService,
    private readonly sessions: SessionsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<GuardedRequest>();
    const header = request.headers?.authorization;
    if (header === undefined) {
      await this.anonymous.charge(request);
      throw refusal(new UnauthorizedException('Authentication credentials were not provided or are invalid.'), 'no_token');
    }
    try {
      request.user = await this.authenticate(header);
      return true;
    } catch (error) {
      // A token that does not check out counts as none (a database failure does not).
      if (isRefusal(error) && error.getStatus() === 401) await this.anonymous.charge(request);
      throw error;
    }
  }

  private async authenticate(header: string | string[]): Promise<AuthUser> {
    const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (token === undefined) {
      throw refusal(new UnauthorizedException('Authentication credentials were not provided or are invalid.'), 'invalid_token');
    }
    let claims;
    try {
      claims = this.tokens.verifyAccess(token);
    } catch (error) {
      if (!(error instanceof AccessTokenRefused)) throw error;
      const expired = error.reason === 'expired_token';
      throw refusal(
        new UnauthorizedException(
          expired ? 'The access token has expired.' : 'Authentication credentials were not provided or are invalid.',
        ),
        error.reason,
      );
    }
    const user = await this.sessions.authenticate(claims.sid, claims.sub);
    if (!user) throw refusal(new UnauthorizedException('The session has ended; log in again.'), 'session_ended');
    return user;
  }
}

import { type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { IS_PUBLIC_KEY } from './public.decorator.js';
import { isRefusal, refusal } from '../common/refusal.js';
import { AnonymousRateLimiter } from '../throttling/anonymous-rate-limiter.js';

interface GuardedRequest {
  ip?: string;
  headers?: Record<string, string | string[] | undefined>;
}

/**
 * The global guard (APP_GUARD): every route needs a valid access token unless
 * marked @Public(). A request without one is first charged to its client
 * IP's anonymous budget (AnonymousRateLimiter): with no Authorization header
 * before anything else, with a token that does not check out right after the
 * signature check; past the budget it gets 429 instead of 401. Refusals carry
 * their reason; the exception filter records them.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(
    private readonly reflector: Reflector,
    private readonly anonymous: AnonymousRateLimiter,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<GuardedRequest>();
    const hasToken = request.headers?.authorization !== undefined;
    if (!hasToken) await this.anonymous.charge(request);
    try {
      return (await super.canActivate(context)) as boolean;
    } catch (error) {
      // A token that does not check out counts as none (a database failure does not).
      if (hasToken && isRefusal(error) && error.getStatus() === 401) await this.anonymous.charge(request);
      throw error;
    }
  }

  override handleRequest<TUser>(err: unknown, user: TUser | false, info: unknown, context?: ExecutionContext): TUser {
    // Errors from validate() (a session check that failed, the database down) keep their meaning.
    if (err instanceof UnauthorizedException) throw refusal(err, 'session_ended');
    if (err) throw err;
    if (!user) {
      const request = context?.switchToHttp().getRequest<GuardedRequest>();
      const expired = info instanceof Error && info.name === 'TokenExpiredError';
      const reason = !request?.headers?.authorization ? 'no_token' : expired ? 'expired_token' : 'invalid_token';
      throw refusal(
        new UnauthorizedException(
          expired ? 'The access token has expired.' : 'Authentication credentials were not provided or are invalid.',
        ),
        reason,
      );
    }
    return user;
  }
}

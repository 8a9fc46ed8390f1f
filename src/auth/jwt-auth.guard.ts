import { type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { contextOf } from '../audit/audit-context.js';
import { AuditService } from '../audit/audit.service.js';
import { IS_PUBLIC_KEY } from './public.decorator.js';

/** The global guard (APP_GUARD): every route needs a valid access token unless marked @Public(). */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    return super.canActivate(context);
  }

  override handleRequest<TUser>(err: unknown, user: TUser | false, info: unknown, context?: ExecutionContext): TUser {
    // Errors from validate() (a session check that failed, the database down) keep their meaning.
    if (err && !(err instanceof UnauthorizedException)) throw err;
    if (err || !user) {
      const request = context?.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
      const expired = info instanceof Error && info.name === 'TokenExpiredError';
      const reason = err ? 'session_ended' : !request?.headers?.authorization ? 'no_token' : expired ? 'expired_token' : 'invalid_token';
      void this.audit.recordQuietly({ action: 'access_denied', status: 401, reason }, contextOf(request as never));
      if (err) throw err;
      throw new UnauthorizedException(
        expired ? 'The access token has expired.' : 'Authentication credentials were not provided or are invalid.',
      );
    }
    return user;
  }
}

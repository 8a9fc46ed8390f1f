import { type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { IS_PUBLIC_KEY } from '../common/decorators.js';

/** The global guard (APP_GUARD): every route needs a valid access token unless marked @Public(). */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    return super.canActivate(context);
  }

  override handleRequest<TUser>(err: unknown, user: TUser | false, info: unknown): TUser {
    // Errors from validate() (a session check that failed, the database down) keep their meaning.
    if (err) throw err;
    if (!user) {
      const reason = info instanceof Error && info.name === 'TokenExpiredError' ? 'The access token has expired.' : undefined;
      throw new UnauthorizedException(reason ?? 'Authentication credentials were not provided or are invalid.');
    }
    return user;
  }
}

import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Role } from '../users/user.entity.js';

export const IS_PUBLIC_KEY = 'isPublic';
/** Opens a route to callers without an access token. */
export const Public = () => SetMetadata(IS_PUBLIC_KEY, true);

/** Who is calling: set by the JWT strategy once the token and its session check out. */
export interface AuthUser {
  id: string;
  username: string;
  role: Role;
  sessionId: string;
}

export const CurrentUser = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuthUser => {
  return ctx.switchToHttp().getRequest<{ user: AuthUser }>().user;
});

/**
 * The absolute URL of the request, for a page's next/previous links. The Host
 * was already checked against ALLOWED_HOSTS, so echoing it is safe.
 */
export const RequestUrl = createParamDecorator((_data: unknown, ctx: ExecutionContext): URL => {
  const req = ctx.switchToHttp().getRequest<{ protocol: string; host: string; url: string }>();
  return new URL(req.url, `${req.protocol}://${req.host}`);
});

export const ROLES_KEY = 'roles';
/** Limits a route (or every route of a controller) to these roles; others get 403. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

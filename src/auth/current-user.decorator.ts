import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Role } from '../users/user.entity.js';

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

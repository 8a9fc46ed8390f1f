import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type AuthUser, ROLES_KEY } from '../common/decorators.js';
import type { Role } from '../users/user.entity.js';

/**
 * The second global guard (APP_GUARD, after JwtAuthGuard): a route marked
 * @Roles(...) answers 403 to an authenticated caller without one of them.
 * Unmarked routes are open to every authenticated user.
 */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!roles || roles.length === 0) return true;
    const user = context.switchToHttp().getRequest<{ user?: AuthUser }>().user;
    if (user && roles.includes(user.role)) return true;
    throw new ForbiddenException('This route is for administrators only.');
  }
}

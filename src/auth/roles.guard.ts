import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type AuthUser } from './current-user.decorator.js';
import { ROLES_KEY } from './roles.decorator.js';
import { refusal } from '../common/refusal.js';
import type { Role } from '../users/user.entity.js';

/**
 * The last global guard (APP_GUARD, after JwtAuthGuard and the rate limits):
 * a route marked @Roles(...) answers 403 to an authenticated caller without
 * one of them (a refusal the exception filter records, reason not_admin).
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
    const request = context.switchToHttp().getRequest<{ user?: AuthUser }>();
    if (request.user && roles.includes(request.user.role)) return true;
    throw refusal(new ForbiddenException('This route is for administrators only.'), 'not_admin');
  }
}

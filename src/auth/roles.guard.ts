import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { contextOf } from '../audit/audit-context.js';
import { AuditService } from '../audit/audit.service.js';
import { type AuthUser } from './current-user.decorator.js';
import { ROLES_KEY } from './roles.decorator.js';
import type { Role } from '../users/user.entity.js';

/**
 * The second global guard (APP_GUARD, after JwtAuthGuard): a route marked
 * @Roles(...) answers 403 to an authenticated caller without one of them.
 * Unmarked routes are open to every authenticated user.
 */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!roles || roles.length === 0) return true;
    const request = context.switchToHttp().getRequest<{ user?: AuthUser }>();
    if (request.user && roles.includes(request.user.role)) return true;
    void this.audit.recordQuietly({ action: 'access_denied', status: 403, reason: 'not_admin' }, contextOf(request));
    throw new ForbiddenException('This route is for administrators only.');
  }
}

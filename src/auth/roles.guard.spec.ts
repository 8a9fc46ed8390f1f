import { describe, expect, it, jest } from '@jest/globals';
import { type ExecutionContext, ForbiddenException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuditService } from '../audit/audit.service.js';
import { type AuthUser } from './current-user.decorator.js';
import { Roles } from './roles.decorator.js';
import type { Role } from '../users/user.entity.js';
import { RolesGuard } from './roles.guard.js';

@Roles('admin')
class AdminController {
  list() {}
}

class OpenController {
  list() {}
  @Roles('admin')
  onlyAdmins() {}
}

function context(controller: new () => object, handler: string, role?: Role): ExecutionContext {
  const user: AuthUser | undefined = role ? { id: 'u', username: 'u', role, sessionId: 's' } : undefined;
  return {
    getClass: () => controller,
    getHandler: () => (controller.prototype as Record<string, unknown>)[handler],
    switchToHttp: () => ({ getRequest: () => ({ user }) }),
  } as unknown as ExecutionContext;
}

describe(RolesGuard.name, () => {
  const audit = { recordQuietly: jest.fn(async (_event: unknown, _context: unknown) => undefined) };
  const guard = new RolesGuard(new Reflector(), audit as unknown as AuditService);

  it('lets any authenticated caller through a route without @Roles', () => {
    expect(guard.canActivate(context(OpenController, 'list', 'user'))).toBe(true);
  });

  it('lets an admin through a controller or a route marked @Roles("admin")', () => {
    expect(guard.canActivate(context(AdminController, 'list', 'admin'))).toBe(true);
    expect(guard.canActivate(context(OpenController, 'onlyAdmins', 'admin'))).toBe(true);
  });

  it.each([
    ['a user on an admin controller', AdminController, 'list', 'user'],
    ['a user on an admin route', OpenController, 'onlyAdmins', 'user'],
    ['a request without a user', AdminController, 'list', undefined],
  ] as const)('refuses %s with 403', (_name, controller, handler, role) => {
    audit.recordQuietly.mockClear();
    expect(() => guard.canActivate(context(controller, handler, role))).toThrow(ForbiddenException);
    // Every refusal goes to the audit trail.
    expect(audit.recordQuietly).toHaveBeenCalledWith(
      { action: 'access_denied', status: 403, reason: 'not_admin' },
      expect.objectContaining({ actorId: role ? 'u' : null }),
    );
  });
});

import { describe, expect, it } from '@jest/globals';
import { type ExecutionContext, ForbiddenException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type AuthUser } from './current-user.decorator.js';
import { Roles } from './roles.decorator.js';
import { isRefusal } from '../common/refusal.js';
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
  const guard = new RolesGuard(new Reflector());

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
    let thrown: unknown;
    try {
      guard.canActivate(context(controller, handler, role));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ForbiddenException);
    // Every refusal goes to the audit trail: the exception filter records it, with the reason it carries.
    expect(isRefusal(thrown) && thrown.refusalReason).toBe('not_admin');
  });
});

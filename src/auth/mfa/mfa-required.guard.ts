import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { refusal } from '../../common/refusal.js';
import { type AuthUser } from '../current-user.decorator.js';
import { IS_PUBLIC_KEY } from '../public.decorator.js';
import { MfaService } from './mfa.service.js';

export const MFA_SETUP_ROUTE_KEY = 'mfaSetupRoute';
/** A route an admin who still has to set up a second factor may use (the MFA setup routes, logout). */
export const MfaSetupRoute = () => SetMetadata(MFA_SETUP_ROUTE_KEY, true);

export const MFA_SETUP_REQUIRED =
  'Administrators must use two-factor authentication: set it up with POST /api/auth/mfa/setup/ and ' +
  'POST /api/auth/mfa/confirm/ before using the rest of the API.';

/**
 * A global guard (APP_GUARD, after JwtAuthGuard): with ADMIN_MFA_REQUIRED,
 * an admin without a confirmed second factor reaches only the routes marked
 * @MfaSetupRoute(); everything else answers 403. Checked here, once, for every
 * route, from the account's state rather than a token claim, so it also holds
 * for tokens issued before the setting was turned on, for a user promoted to
 * admin, and right after a factor is disabled.
 */
@Injectable()
export class MfaRequiredGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly mfa: MfaService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) return true;
    const request = context.switchToHttp().getRequest<{ user?: AuthUser }>();
    const user = request.user;
    if (!user || !this.mfa.isRequiredFor(user)) return true;
    if (this.reflector.getAllAndOverride<boolean>(MFA_SETUP_ROUTE_KEY, targets)) return true;
    if (await this.mfa.isEnabled(user.id)) return true;
    // Recorded by the exception filter's refusal recorder, like every guard's refusal (one event, with the actor).
    throw refusal(new ForbiddenException(MFA_SETUP_REQUIRED), 'mfa_enrollment_required');
  }
}

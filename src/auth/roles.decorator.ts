import { SetMetadata } from '@nestjs/common';
import type { Role } from '../users/user.entity.js';

export const ROLES_KEY = 'roles';
/** Limits a route (or every route of a controller) to these roles; others get 403 (RolesGuard). */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

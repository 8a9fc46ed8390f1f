import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../common/api-docs.js';
import { Roles } from './roles.decorator.js';

/** A controller of the staff console's API: admins only (403 for others), documented under the `admin` tag. */
export function AdminOnly() {
  return applyDecorators(ApiTags('admin'), ApiBearerAuth(), Roles('admin'), ApiProblems(401, 403));
}

import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional } from 'class-validator';
import { ROLES, type Role } from '../user.entity.js';

/** What an admin may change on an account. Deactivating ends every session of the user. */
export class UpdateUserDto {
  @ApiPropertyOptional({ description: 'false: the user can no longer log in, and every session ends.' })
  @IsOptional()
  @IsBoolean()
  is_active?: boolean;

  @ApiPropertyOptional({ enum: ROLES })
  @IsOptional()
  @IsIn(ROLES, { message: `role must be one of: ${ROLES.join(', ')}` })
  role?: Role;
}

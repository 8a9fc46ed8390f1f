import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { RegisterDto } from '../../auth/dto/register.dto.js';
import { ROLES, type Role } from '../../users/user.entity.js';

/** An account an admin makes: registration's fields and password rules, and its role (a user's by default). */
export class CreateUserDto extends RegisterDto {
  @ApiPropertyOptional({ enum: ROLES, default: 'user' })
  @IsOptional()
  @IsIn(ROLES, { message: `role must be one of: ${ROLES.join(', ')}` })
  role?: Role;
}

import { ApiProperty } from '@nestjs/swagger';
import { ROLES, type Role, type User } from '../user.entity.js';

/** What registration returns (as the seed's serializer). */
export class RegisteredUserDto {
  @ApiProperty({ format: 'uuid', example: '0b8f5c1e-6f0e-4c39-9a57-3f1c6f2d9a10' })
  id: string;

  @ApiProperty({ example: 'ada' })
  username: string;

  @ApiProperty({ format: 'email', example: 'ada@example.org' })
  email: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-26T12:00:00.000Z' })
  date_joined: string;
}

/** The caller, as GET /api/auth/me/ shows them. */
export class MeDto extends RegisteredUserDto {
  @ApiProperty({ enum: ROLES, example: 'user' })
  role: Role;
}

/** An account as an admin sees it (never the password hash). */
export class AdminUserDto extends MeDto {
  @ApiProperty({ description: 'false: the user cannot log in.' })
  is_active: boolean;
}

export function toRegisteredUser(user: User): RegisteredUserDto {
  return { id: user.id, username: user.username, email: user.email, date_joined: user.dateJoined.toISOString() };
}

export function toMe(user: User): MeDto {
  return { ...toRegisteredUser(user), role: user.role };
}

export function toAdminUserDto(user: User): AdminUserDto {
  return { ...toMe(user), is_active: user.isActive };
}

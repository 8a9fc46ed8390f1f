import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { orderingsOf, PageQueryDto } from '../../common/pagination/page-query.dto.js';
import { IsSearchTerm } from '../../common/search.js';
import { ROLES, type Role, type User } from '../user.entity.js';

/** The orderings the account list offers, declared once: wire name -> entity property (column and kind come from metadata). */
export const USER_SORTS = { username: 'username', date_joined: 'dateJoined' } satisfies Record<string, keyof User>;
export const USER_ORDERINGS = orderingsOf(USER_SORTS);
export const USER_DEFAULT_ORDERING = 'username';

/** "true"/"false" (any case) -> boolean; anything else stays a string and fails @IsBoolean. */
const toBooleanParam = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const lower = value.toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : value;
};

export class ListUsersDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Case-insensitive substring of the username or the email.', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @IsSearchTerm()
  search?: string;

  @ApiPropertyOptional({ enum: ROLES })
  @IsOptional()
  @IsIn(ROLES, { message: `role must be one of: ${ROLES.join(', ')}` })
  role?: Role;

  @ApiPropertyOptional({ type: Boolean })
  @IsOptional()
  @Transform(toBooleanParam)
  @IsBoolean({ message: 'is_active must be true or false' })
  is_active?: boolean;

  @ApiPropertyOptional({ enum: USER_ORDERINGS, default: 'username' })
  @IsOptional()
  @IsIn(USER_ORDERINGS, { message: `ordering must be one of: ${USER_ORDERINGS.join(', ')}` })
  ordering?: string;
}

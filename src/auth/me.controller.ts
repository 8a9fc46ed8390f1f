import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../common/api-docs.js';
import { type AuthUser, CurrentUser } from './current-user.decorator.js';
import { MeDto } from '../users/dto/user-response.dto.js';
import { UsersService } from '../users/users.service.js';

/** The caller's own record, served under /api/auth/ beside login, where clients look for it (auth depends on users, never the reverse). */
@ApiTags('auth')
@ApiBearerAuth()
@Controller('api/auth')
export class MeController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  // The id it had when this lived in users/ (UsersController), so the API document and the typed client stay the same.
  @ApiOperation({ summary: 'The caller', operationId: 'usersMe' })
  @ApiOkResponse({ type: MeDto, description: 'The account of the token' })
  @ApiProblems(401)
  me(@CurrentUser() user: AuthUser): Promise<MeDto> {
    return this.users.me(user.id);
  }
}

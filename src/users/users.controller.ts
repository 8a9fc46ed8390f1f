import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../common/api-docs.js';
import { type AuthUser, CurrentUser } from '../common/decorators.js';
import { MeDto } from './dto/user-response.dto.js';
import { UsersService } from './users.service.js';

/** The caller's own record. Served under /api/auth/ beside login, where clients look for it. */
@ApiTags('auth')
@ApiBearerAuth()
@Controller('api/auth')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @ApiOperation({ summary: 'The caller' })
  @ApiOkResponse({ type: MeDto })
  @ApiProblems(401)
  me(@CurrentUser() user: AuthUser): Promise<MeDto> {
    return this.users.me(user.id);
  }
}

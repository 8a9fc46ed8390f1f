import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { Audited } from '../audit/audited.decorator.js';
import { ApiPageResponse, ApiProblems } from '../common/api-docs.js';
import { RequestUrl } from '../common/decorators.js';
import { type AuthUser, CurrentUser } from '../auth/current-user.decorator.js';
import type { PageDto } from '../common/pagination.js';
import { UuidParam } from '../common/params.js';
import { ListUsersDto } from '../users/dto/list-users.dto.js';
import { UpdateUserDto } from '../users/dto/update-user.dto.js';
import { AdminUserDto } from '../users/dto/user-response.dto.js';
import { AdminOnly } from '../auth/admin-only.decorator.js';
import { AdminUsersService } from './admin-users.service.js';
import { CreateUserDto } from './dto/create-user.dto.js';

const NOT_FOUND = { status: 404, detail: 'User not found.' };

/** Accounts: created by registering, by an admin here, or by `npm run cli -- create-superuser`; managed here. */
@AdminOnly()
@Controller('api/admin/users')
export class AdminUsersController {
  constructor(private readonly users: AdminUsersService) {}

  @Get()
  @ApiOperation({ summary: 'Every account, by username' })
  @ApiPageResponse(AdminUserDto, 'A page of accounts')
  @ApiProblems(400)
  list(
    @CurrentUser() user: AuthUser,
    @Query() query: ListUsersDto,
    @RequestUrl() url: URL,
  ): Promise<PageDto<AdminUserDto>> {
    return this.users.list(user, query, url);
  }

  @Audited('user', 'create')
  @Post()
  @ApiOperation({
    summary: 'Make an account (registration\'s rules; role user unless asked)',
    description: 'The password follows the registration rules; the new account signs in with it. A taken username or email (any case) is 409.',
  })
  @ApiCreatedResponse({ type: AdminUserDto, description: 'The new account' })
  @ApiProblems(
    { status: 400, errors: { password: ['password is too common'] } },
    { status: 409, detail: 'A user with that username already exists.' },
    413,
    415,
  )
  create(@Body() dto: CreateUserDto): Promise<AdminUserDto> {
    return this.users.create(dto);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One account' })
  @ApiOkResponse({ type: AdminUserDto, description: 'The account' })
  @ApiProblems(NOT_FOUND)
  get(@Param('id', UuidParam) id: string): Promise<AdminUserDto> {
    return this.users.get(id);
  }

  @Audited('user', 'user_changed')
  @Patch(':id')
  @ApiOperation({
    summary: 'Activate or deactivate an account, or change its role',
    description:
      'Deactivating ends every session of the user: their access tokens stop working within 2 seconds. ' +
      'The last active admin cannot be demoted or deactivated (409).',
  })
  @ApiOkResponse({ type: AdminUserDto, description: 'The account, changed' })
  @ApiProblems(
    { status: 400, errors: { role: ['role must be one of: user, admin'] } },
    NOT_FOUND,
    { status: 409, detail: 'This is the last active admin: make another user an admin first.' },
    413,
    415,
  )
  update(@Param('id', UuidParam) id: string, @Body() dto: UpdateUserDto): Promise<AdminUserDto> {
    return this.users.update(id, dto);
  }
}

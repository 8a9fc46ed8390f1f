import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { Audited, eachResult } from '../audit/audited.decorator.js';
import { ApiPageResponse, ApiProblems } from '../common/api-docs.js';
import { RequestUrl } from '../common/decorators.js';
import { type AuthUser, CurrentUser } from '../auth/current-user.decorator.js';
import type { PageDto } from '../common/pagination/page.dto.js';
import { ListAdminMappingsDto } from '../mappings/dto/list-admin-mappings.dto.js';
import { AdminMappingDto } from '../mappings/dto/mapping-response.dto.js';
import { MappingsService } from '../mappings/mappings.service.js';
import { AdminOnly } from '../auth/admin-only.decorator.js';

/** Reads for the staff console; assign and unassign through /api/mappings/. */
@AdminOnly()
@Controller('api/admin/mappings')
export class AdminMappingsController {
  constructor(private readonly mappings: MappingsService) {}

  @Audited('mapping', 'list', { patients: eachResult('patient') })
  @Get()
  @ApiOperation({ summary: 'Every mapping, newest first, with patient and doctor names' })
  @ApiPageResponse(AdminMappingDto, 'A page of every mapping, with names and owner')
  @ApiProblems(400)
  list(
    @CurrentUser() user: AuthUser,
    @Query() query: ListAdminMappingsDto,
    @RequestUrl() url: URL,
  ): Promise<PageDto<AdminMappingDto>> {
    return this.mappings.listAll(user, query, url);
  }
}

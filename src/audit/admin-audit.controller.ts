import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { AdminOnly } from '../auth/admin-only.decorator.js';
import { ApiPageResponse, ApiProblems } from '../common/api-docs.js';
import { RequestUrl } from '../common/decorators.js';
import { type AuthUser, CurrentUser } from '../auth/current-user.decorator.js';
import type { PageDto } from '../common/pagination.js';
import { AuditService } from './audit.service.js';
import { AuditEventDto } from './dto/audit-event-response.dto.js';
import { ListAuditEventsDto } from './dto/list-audit-events.dto.js';

@AdminOnly()
@Controller('api/admin/audit-events')
export class AdminAuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({ summary: 'The audit trail, newest first: who touched which record, when, from where, with what outcome' })
  @ApiPageResponse(AuditEventDto, 'A page of audit events, newest first')
  @ApiProblems(400)
  list(
    @CurrentUser() user: AuthUser,
    @Query() query: ListAuditEventsDto,
    @RequestUrl() url: URL,
  ): Promise<PageDto<AuditEventDto>> {
    return this.audit.list(user, query, url);
  }
}

import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { Audited } from '../audit/audited.decorator.js';
import type { AuditResourceType } from '../audit/audit-event.entity.js';
import { AdminOnly } from '../auth/admin-only.decorator.js';
import { type AuthUser, CurrentUser } from '../auth/current-user.decorator.js';
import { ApiPageResponse, ApiProblems } from '../common/api-docs.js';
import { RequestUrl } from '../common/decorators.js';
import type { PageDto } from '../common/pagination/page.dto.js';
import { DeletedRecordsService } from '../deleted/deleted-records.service.js';
import { DELETED_TYPES, DeletedRecordDto, ListDeletedDto } from '../deleted/deleted.dto.js';

/** The audit event's resource type: the listed kind (patients unless the query names another; null for a bad one, refused). */
const listedType = ({ type = 'patient' }: Record<string, unknown>): AuditResourceType | null =>
  (DELETED_TYPES as readonly unknown[]).includes(type) ? (type as AuditResourceType) : null;

@AdminOnly()
@Controller('api/admin/deleted')
export class AdminDeletedController {
  constructor(private readonly deleted: DeletedRecordsService) {}

  // A deleted patient's name is still a patient's: the list discloses each one.
  @Audited(listedType, 'list', { patients: (page: PageDto<DeletedRecordDto>) => (page?.results ?? []).filter((r) => r.type === 'patient').map((r) => r.id) })
  @Get()
  @ApiOperation({ summary: 'Deleted patients or doctors, most recently deleted first, until each is purged (DELETED_RETENTION_DAYS)' })
  @ApiPageResponse(DeletedRecordDto, 'A page of deleted records')
  @ApiProblems(400, 429)
  list(@CurrentUser() user: AuthUser, @Query() query: ListDeletedDto, @RequestUrl() url: URL): Promise<PageDto<DeletedRecordDto>> {
    return this.deleted.list(user, query, url);
  }
}

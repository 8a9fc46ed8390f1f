import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { Audited, eachResult } from '../audit/audited.decorator.js';
import { ApiPageResponse, ApiProblems } from '../common/api-docs.js';
import { RequestUrl } from '../common/decorators.js';
import { type AuthUser, CurrentUser } from '../auth/current-user.decorator.js';
import type { PageDto } from '../common/pagination/page.dto.js';
import { ListAdminPatientsDto } from '../patients/dto/list-admin-patients.dto.js';
import { AdminPatientDto, PatientDto } from '../patients/dto/patient-response.dto.js';
import { UuidParam } from '../common/params.js';
import { ETAG_HEADER, VersionedCreate } from '../common/versioned.js';
import { PatientsService } from '../patients/patients.service.js';
import { AdminOnly } from '../auth/admin-only.decorator.js';

/** Reads for the staff console, and restores; changes go through /api/patients/, where admins pass every ownership rule. */
@AdminOnly()
@Controller('api/admin/patients')
export class AdminPatientsController {
  constructor(private readonly patients: PatientsService) {}

  @Audited('patient', 'list', { patients: eachResult('id') })
  @Get()
  @ApiOperation({ summary: "Every owner's patients (or one owner's), each with its owner's username" })
  @ApiPageResponse(AdminPatientDto, "A page of every owner's patients")
  @ApiProblems(400, 429)
  list(
    @CurrentUser() user: AuthUser,
    @Query() query: ListAdminPatientsDto,
    @RequestUrl() url: URL,
  ): Promise<PageDto<AdminPatientDto>> {
    return this.patients.listAll(user, query, url);
  }

  @Audited('patient', 'restore')
  @Post(':id/restore')
  @HttpCode(200)
  @VersionedCreate()
  @ApiOperation({ summary: 'Bring back a deleted patient, whoever deleted it, with its doctor assignments (until it is purged)' })
  @ApiOkResponse({ type: PatientDto, headers: ETAG_HEADER, description: 'The patient, live again' })
  @ApiProblems({ status: 404, detail: 'No deleted patient with this id can be restored.' })
  restore(@CurrentUser() user: AuthUser, @Param('id', UuidParam) id: string): Promise<PatientDto> {
    return this.patients.restore(user, id);
  }
}

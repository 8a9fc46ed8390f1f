import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { Audited } from '../audit/audited.decorator.js';
import { ApiPageResponse, ApiProblems } from '../common/api-docs.js';
import { RequestUrl } from '../common/decorators.js';
import type { PageDto } from '../common/pagination.js';
import { ListAdminPatientsDto } from '../patients/dto/list-admin-patients.dto.js';
import { AdminPatientDto } from '../patients/dto/patient-response.dto.js';
import { PatientsService } from '../patients/patients.service.js';
import { AdminOnly } from '../auth/admin-only.decorator.js';

/** Reads for the staff console; changes go through /api/patients/, where admins pass every ownership rule. */
@AdminOnly()
@Controller('api/admin/patients')
export class AdminPatientsController {
  constructor(private readonly patients: PatientsService) {}

  @Audited('patient', 'list')
  @Get()
  @ApiOperation({ summary: "Every owner's patients (or one owner's), each with its owner's username" })
  @ApiPageResponse(AdminPatientDto)
  @ApiProblems(400)
  list(@Query() query: ListAdminPatientsDto, @RequestUrl() url: URL): Promise<PageDto<AdminPatientDto>> {
    return this.patients.listAll(query, url);
  }
}

import { Body, Controller, Delete, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Audited, eachResult } from '../audit/audited.decorator.js';
import { ApiPageResponse, ApiProblems, NoContent } from '../common/api-docs.js';
import { RequestUrl } from '../common/decorators.js';
import { type AuthUser, CurrentUser } from '../auth/current-user.decorator.js';
import type { PageDto } from '../common/pagination/page.dto.js';
import { UuidParam } from '../common/params.js';
import { Idempotent, REPLAYED_HEADER } from '../idempotency/idempotent.decorator.js';
import { CreateMappingDto } from './dto/create-mapping.dto.js';
import { ListMappingsDto } from './dto/list-mappings.dto.js';
import { AssignedDoctorDto, MappingDto } from './dto/mapping-response.dto.js';
import { MappingsService } from './mappings.service.js';

const INVALID = { status: 400, errors: { patient: ['patient must be a UUID'] } };
const PATIENT_NOT_FOUND = { status: 404, detail: 'Patient not found.' };
const ASSIGNED = { status: 409, detail: 'This doctor is already assigned to this patient.' };

@ApiTags('mappings')
@ApiBearerAuth()
@Controller('api/mappings')
export class MappingsController {
  constructor(private readonly mappings: MappingsService) {}

  @Audited('mapping', 'create')
  @Post()
  @Idempotent({ resource: 'mapping', patientOf: (m) => m.patient }, { documentsConflict: true })
  @ApiOperation({ summary: "Assign a doctor to one of the caller's patients" })
  @ApiCreatedResponse({ type: MappingDto, headers: REPLAYED_HEADER, description: 'The mapping: the doctor now treats the patient' })
  @ApiProblems(INVALID, 401, PATIENT_NOT_FOUND, ASSIGNED, 413, 415)
  create(@CurrentUser() user: AuthUser, @Body() dto: CreateMappingDto): Promise<MappingDto> {
    return this.mappings.create(user, dto);
  }

  @Audited('mapping', 'list', { patients: eachResult('patient') })
  @Get()
  @ApiOperation({ summary: "The mappings of the caller's patients, newest first" })
  @ApiPageResponse(MappingDto, "A page of the mappings of the caller's patients")
  @ApiProblems(400, 401)
  list(
    @CurrentUser() user: AuthUser,
    @Query() query: ListMappingsDto,
    @RequestUrl() url: URL,
  ): Promise<PageDto<MappingDto>> {
    return this.mappings.list(user, query, url);
  }

  @Audited('mapping', 'list', { results: eachResult('mapping_id') })
  // OpenAPI forbids two templates differing only in the parameter name, so
  // both this route and DELETE name theirs {id}; here it is the patient's.
  @Get(':id')
  @ApiOperation({ summary: 'The doctors assigned to a patient' })
  @ApiParam({ name: 'id', format: 'uuid', description: "The patient's id" })
  @ApiPageResponse(AssignedDoctorDto, 'A page of the doctors assigned to the patient')
  @ApiProblems(400, 401, PATIENT_NOT_FOUND)
  doctorsOf(
    @CurrentUser() user: AuthUser,
    @Param('id', UuidParam) patientId: string,
    @Query() query: ListMappingsDto,
    @RequestUrl() url: URL,
  ): Promise<PageDto<AssignedDoctorDto>> {
    return this.mappings.doctorsOf(user, patientId, query, url);
  }

  @Audited('mapping', 'delete')
  @Delete(':id')
  @NoContent()
  @ApiOperation({ summary: 'Unassign: delete a mapping' })
  @ApiParam({ name: 'id', format: 'uuid', description: "The mapping's id" })
  @ApiProblems(401, { status: 404, detail: 'Mapping not found.' })
  remove(@CurrentUser() user: AuthUser, @Param('id', UuidParam) id: string): Promise<void> {
    return this.mappings.remove(user, id);
  }
}

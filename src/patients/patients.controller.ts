import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Audited, eachResult } from '../audit/audited.decorator.js';
import { ApiPageResponse, ApiProblems, NoContent } from '../common/api-docs.js';
import { RequestUrl } from '../common/decorators.js';
import { type AuthUser, CurrentUser } from '../auth/current-user.decorator.js';
import type { PageDto } from '../common/pagination/page.dto.js';
import { CreatedAt, LOCATION_HEADER } from '../common/location.js';
import { UuidParam } from '../common/params.js';
import type { Preconditions } from '../common/preconditions.js';
import { ETAG_HEADER, RequestPreconditions, VersionedCreate, VersionedRead, VersionedWrite } from '../common/versioned.js';
import { ApiHistoryResponse, type HistoryEntryDto, ListHistoryDto } from '../history/history.dto.js';
import { CreatePatientDto } from './dto/create-patient.dto.js';
import { ListPatientsDto } from './dto/list-patients.dto.js';
import { PatientDto } from './dto/patient-response.dto.js';
import { ReplacePatientDto } from './dto/replace-patient.dto.js';
import { UpdatePatientDto } from './dto/update-patient.dto.js';
import { Idempotent, REPLAYED_HEADER } from '../idempotency/idempotent.decorator.js';
import { PatientsService } from './patients.service.js';

const INVALID = { status: 400, errors: { age: ['age must not be greater than 150'] } };
const NOT_FOUND = { status: 404, detail: 'Patient not found.' };

@ApiTags('patients')
@ApiBearerAuth()
@Controller('api/patients')
export class PatientsController {
  constructor(private readonly patients: PatientsService) {}

  @Audited('patient', 'create')
  @Post()
  @Idempotent({ resource: 'patient', patientOf: (p) => p.id })
  // Below @Idempotent: interceptors declared lower wrap those above, so a replayed answer gets its ETag and Location too.
  @VersionedCreate()
  @CreatedAt('/api/patients/')
  @ApiOperation({ summary: 'Add a patient (owned by the caller)' })
  @ApiCreatedResponse({ type: PatientDto, headers: { ...ETAG_HEADER, ...LOCATION_HEADER, ...REPLAYED_HEADER }, description: 'The patient, owned by the caller' })
  @ApiProblems(INVALID, 401, 413, 415)
  create(@CurrentUser() user: AuthUser, @Body() dto: CreatePatientDto): Promise<PatientDto> {
    return this.patients.create(user, dto);
  }

  @Audited('patient', 'list', { patients: eachResult('id') })
  @Get()
  @ApiOperation({ summary: "The caller's patients (an admin's: everyone's), newest first" })
  @ApiPageResponse(PatientDto, "A page of the caller's patients (an admin's: everyone's)")
  @ApiProblems(400, 401, 429)
  list(
    @CurrentUser() user: AuthUser,
    @Query() query: ListPatientsDto,
    @RequestUrl() url: URL,
  ): Promise<PageDto<PatientDto>> {
    return this.patients.list(user, query, url);
  }

  @Audited('patient', 'history')
  @Get(':id/history')
  @ApiOperation({ summary: "Every version of a patient, newest first: what changed, when, by whom" })
  @ApiHistoryResponse("A page of the patient's changes")
  @ApiProblems(400, 401, NOT_FOUND, 429)
  history(
    @CurrentUser() user: AuthUser,
    @Param('id', UuidParam) id: string,
    @Query() query: ListHistoryDto,
    @RequestUrl() url: URL,
  ): Promise<PageDto<HistoryEntryDto>> {
    return this.patients.historyOf(user, id, query, url);
  }

  @Audited('patient', 'read')
  @Get(':id')
  @VersionedRead()
  @ApiOperation({ summary: 'One patient' })
  @ApiOkResponse({ type: PatientDto, headers: ETAG_HEADER, description: 'The patient' })
  @ApiProblems(401, NOT_FOUND)
  get(@CurrentUser() user: AuthUser, @Param('id', UuidParam) id: string): Promise<PatientDto> {
    return this.patients.get(user, id);
  }

  @Audited('patient', 'update')
  @Put(':id')
  @VersionedWrite('patient')
  @ApiOperation({ summary: 'Replace a patient (every field required)' })
  @ApiOkResponse({ type: PatientDto, headers: ETAG_HEADER, description: 'The patient as replaced' })
  @ApiProblems(INVALID, 401, NOT_FOUND, 413, 415)
  replace(
    @CurrentUser() user: AuthUser,
    @Param('id', UuidParam) id: string,
    @Body() dto: ReplacePatientDto,
    @RequestPreconditions() conditions: Preconditions,
  ): Promise<PatientDto> {
    return this.patients.update(user, id, dto, conditions);
  }

  @Audited('patient', 'update')
  @Patch(':id')
  @VersionedWrite('patient')
  @ApiOperation({ summary: 'Change some fields of a patient' })
  @ApiOkResponse({ type: PatientDto, headers: ETAG_HEADER, description: 'The patient, with the fields sent changed' })
  @ApiProblems(INVALID, 401, NOT_FOUND, 413, 415)
  update(
    @CurrentUser() user: AuthUser,
    @Param('id', UuidParam) id: string,
    @Body() dto: UpdatePatientDto,
    @RequestPreconditions() conditions: Preconditions,
  ): Promise<PatientDto> {
    return this.patients.update(user, id, dto, conditions);
  }

  @Audited('patient', 'delete')
  @Delete(':id')
  @VersionedWrite('patient')
  @NoContent()
  @ApiOperation({
    summary: 'Delete a patient (and hide its doctor assignments)',
    description:
      'The patient then answers 404 everywhere. Within DELETED_RETENTION_DAYS (default 30) the user who deleted it can bring it back with POST /api/patients/{id}/restore/ (an admin: any deleted patient); after that it is purged for good.',
  })
  @ApiProblems(401, NOT_FOUND)
  remove(
    @CurrentUser() user: AuthUser,
    @Param('id', UuidParam) id: string,
    @RequestPreconditions() conditions: Preconditions,
  ): Promise<void> {
    return this.patients.remove(user, id, conditions);
  }

  @Audited('patient', 'restore')
  @Post(':id/restore')
  @HttpCode(200)
  @VersionedCreate()
  @ApiOperation({
    summary: 'Undo the delete of a patient, with its doctor assignments',
    description:
      'For the user who deleted their own patient, within DELETED_RETENTION_DAYS (default 30) of the delete; an admin may restore any deleted patient not yet purged. The restore is a new version, in the history.',
  })
  @ApiOkResponse({ type: PatientDto, headers: ETAG_HEADER, description: 'The patient, live again' })
  @ApiProblems(401, { status: 404, detail: 'No deleted patient with this id can be restored.' })
  restore(@CurrentUser() user: AuthUser, @Param('id', UuidParam) id: string): Promise<PatientDto> {
    return this.patients.restore(user, id);
  }
}

import { Body, Controller, Delete, Get, Param, Patch, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Audited } from '../audit/audited.decorator.js';
import { ApiPageResponse, ApiProblems, NoContent } from '../common/api-docs.js';
import { RequestUrl } from '../common/decorators.js';
import { type AuthUser, CurrentUser } from '../auth/current-user.decorator.js';
import type { PageDto } from '../common/pagination/page.dto.js';
import { CreatedAt, LOCATION_HEADER } from '../common/location.js';
import { UuidParam } from '../common/params.js';
import type { Preconditions } from '../common/preconditions.js';
import { ETAG_HEADER, RequestPreconditions, VersionedCreate, VersionedRead, VersionedWrite } from '../common/versioned.js';
import { ApiHistoryResponse, type HistoryEntryDto, ListHistoryDto } from '../history/history.dto.js';
import { Idempotent, REPLAYED_HEADER } from '../idempotency/idempotent.decorator.js';
import { DoctorsService } from './doctors.service.js';
import { CreateDoctorDto } from './dto/create-doctor.dto.js';
import { DoctorDto } from './dto/doctor-response.dto.js';
import { ListDoctorsDto } from './dto/list-doctors.dto.js';
import { UpdateDoctorDto } from './dto/update-doctor.dto.js';

const INVALID = { status: 400, errors: { phone: ['phone must be exactly 10 digits'] } };
const NOT_FOUND = { status: 404, detail: 'Doctor not found.' };
const NOT_CREATOR = { status: 403, detail: 'Only the user who added this doctor, or an admin, may change or delete it.' };
const DUPLICATE = { status: 409, detail: 'A doctor with that email already exists.' };

@ApiTags('doctors')
@ApiBearerAuth()
@Controller('api/doctors')
export class DoctorsController {
  constructor(private readonly doctors: DoctorsService) {}

  @Audited('doctor', 'create')
  @Post()
  @Idempotent({ resource: 'doctor' }, { documentsConflict: true })
  // Below @Idempotent: interceptors declared lower wrap those above, so a replayed answer gets its ETag and Location too.
  @VersionedCreate()
  @CreatedAt('/api/doctors/')
  @ApiOperation({ summary: 'Add a doctor' })
  @ApiCreatedResponse({ type: DoctorDto, headers: { ...ETAG_HEADER, ...LOCATION_HEADER, ...REPLAYED_HEADER }, description: 'The doctor' })
  @ApiProblems(INVALID, 401, DUPLICATE, 413, 415)
  create(@CurrentUser() user: AuthUser, @Body() dto: CreateDoctorDto): Promise<DoctorDto> {
    return this.doctors.create(user, dto);
  }

  @Get()
  @ApiOperation({ summary: 'All doctors, newest first' })
  @ApiPageResponse(DoctorDto, 'A page of doctors')
  @ApiProblems(400, 401, 429)
  list(
    @CurrentUser() user: AuthUser,
    @Query() query: ListDoctorsDto,
    @RequestUrl() url: URL,
  ): Promise<PageDto<DoctorDto>> {
    return this.doctors.list(user, query, url);
  }

  @Audited('doctor', 'history')
  @Get(':id/history')
  @ApiOperation({ summary: 'Every version of a doctor, newest first: what changed, when, by whom' })
  @ApiHistoryResponse("A page of the doctor's changes")
  @ApiProblems(400, 401, NOT_FOUND, 429)
  history(
    @CurrentUser() user: AuthUser,
    @Param('id', UuidParam) id: string,
    @Query() query: ListHistoryDto,
    @RequestUrl() url: URL,
  ): Promise<PageDto<HistoryEntryDto>> {
    return this.doctors.historyOf(user, id, query, url);
  }

  @Get(':id')
  @VersionedRead()
  @ApiOperation({ summary: 'One doctor' })
  @ApiOkResponse({ type: DoctorDto, headers: ETAG_HEADER, description: 'The doctor' })
  @ApiProblems(401, NOT_FOUND)
  get(@Param('id', UuidParam) id: string): Promise<DoctorDto> {
    return this.doctors.get(id);
  }

  @Audited('doctor', 'update')
  @Put(':id')
  @VersionedWrite('doctor')
  @ApiOperation({ summary: 'Replace a doctor (every field required; creator or admin only)' })
  @ApiOkResponse({ type: DoctorDto, headers: ETAG_HEADER, description: 'The doctor as replaced' })
  @ApiProblems(INVALID, 401, NOT_CREATOR, NOT_FOUND, DUPLICATE, 413, 415)
  replace(
    @CurrentUser() user: AuthUser,
    @Param('id', UuidParam) id: string,
    @Body() dto: CreateDoctorDto,
    @RequestPreconditions() conditions: Preconditions,
  ): Promise<DoctorDto> {
    return this.doctors.update(user, id, dto, conditions);
  }

  @Audited('doctor', 'update')
  @Patch(':id')
  @VersionedWrite('doctor')
  @ApiOperation({ summary: 'Change some fields of a doctor (creator or admin only)' })
  @ApiOkResponse({ type: DoctorDto, headers: ETAG_HEADER, description: 'The doctor, with the fields sent changed' })
  @ApiProblems(INVALID, 401, NOT_CREATOR, NOT_FOUND, DUPLICATE, 413, 415)
  update(
    @CurrentUser() user: AuthUser,
    @Param('id', UuidParam) id: string,
    @Body() dto: UpdateDoctorDto,
    @RequestPreconditions() conditions: Preconditions,
  ): Promise<DoctorDto> {
    return this.doctors.update(user, id, dto, conditions);
  }

  @Audited('doctor', 'delete')
  @Delete(':id')
  @VersionedWrite('doctor')
  @NoContent()
  @ApiOperation({
    summary: 'Delete a doctor and hide its assignments (creator or admin only)',
    description:
      'The doctor then answers 404 everywhere and its email may be used again. Within DELETED_RETENTION_DAYS (default 30) an admin can bring it back (POST /api/admin/doctors/{id}/restore/); after that it is purged for good.',
  })
  @ApiProblems(401, NOT_CREATOR, NOT_FOUND)
  remove(
    @CurrentUser() user: AuthUser,
    @Param('id', UuidParam) id: string,
    @RequestPreconditions() conditions: Preconditions,
  ): Promise<void> {
    return this.doctors.remove(user, id, conditions);
  }
}

import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { Audited } from '../audit/audited.decorator.js';
import { AdminOnly } from '../auth/admin-only.decorator.js';
import { type AuthUser, CurrentUser } from '../auth/current-user.decorator.js';
import { ApiProblems } from '../common/api-docs.js';
import { UuidParam } from '../common/params.js';
import { ETAG_HEADER, VersionedCreate } from '../common/versioned.js';
import { DoctorsService } from '../doctors/doctors.service.js';
import { DoctorDto } from '../doctors/dto/doctor-response.dto.js';

/** Admins' doctor routes beyond /api/doctors/ (where they already pass the creator rule): restores. */
@AdminOnly()
@Controller('api/admin/doctors')
export class AdminDoctorsController {
  constructor(private readonly doctors: DoctorsService) {}

  @Audited('doctor', 'restore')
  @Post(':id/restore')
  @HttpCode(200)
  @VersionedCreate()
  @ApiOperation({ summary: 'Bring back a deleted doctor, with its assignments (until it is purged)' })
  @ApiOkResponse({ type: DoctorDto, headers: ETAG_HEADER, description: 'The doctor, live again' })
  @ApiProblems(
    { status: 404, detail: 'No deleted doctor with this id can be restored.' },
    { status: 409, detail: "A live doctor now has this doctor's email: change or delete that doctor first, then restore this one." },
  )
  restore(@CurrentUser() user: AuthUser, @Param('id', UuidParam) id: string): Promise<DoctorDto> {
    return this.doctors.restore(user, id);
  }
}

import { PartialType } from '@nestjs/swagger';
import { CreateDoctorDto } from './create-doctor.dto.js';

/**
 * PATCH: only the fields it names change. (PUT takes CreateDoctorDto: every field.)
 * A field sent as null is validated (and refused), not skipped: every column is NOT NULL.
 */
export class UpdateDoctorDto extends PartialType(CreateDoctorDto, { skipNullProperties: false }) {}

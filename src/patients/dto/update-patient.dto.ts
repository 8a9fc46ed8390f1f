import { PartialType } from '@nestjs/swagger';
import { ReplacePatientDto } from './replace-patient.dto.js';

/**
 * PATCH: only the fields it names change. A field sent as null is validated
 * (and refused), not skipped: every column is NOT NULL.
 */
export class UpdatePatientDto extends PartialType(ReplacePatientDto, { skipNullProperties: false }) {}

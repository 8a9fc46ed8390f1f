import { PartialType } from '@nestjs/swagger';
import { ReplacePatientDto } from './replace-patient.dto.js';

/** PATCH: only the fields it names change. */
export class UpdatePatientDto extends PartialType(ReplacePatientDto) {}

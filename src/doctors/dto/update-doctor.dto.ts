import { PartialType } from '@nestjs/swagger';
import { CreateDoctorDto } from './create-doctor.dto.js';

/** PATCH: only the fields it names change. (PUT takes CreateDoctorDto: every field.) */
export class UpdateDoctorDto extends PartialType(CreateDoctorDto) {}

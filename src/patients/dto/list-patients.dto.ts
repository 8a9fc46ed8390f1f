import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { PageQueryDto, toIntegerParam } from '../../common/pagination.js';
import { GENDERS, type Gender } from '../patient.entity.js';
import { lowercase } from './create-patient.dto.js';

export const PATIENT_ORDERINGS = ['name', '-name', 'created_at', '-created_at', 'age', '-age'] as const;

export class ListPatientsDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Case-insensitive substring of the name.', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  search?: string;

  @ApiPropertyOptional({ enum: GENDERS })
  @IsOptional()
  @Transform(lowercase)
  @IsIn(GENDERS, { message: `gender must be one of: ${GENDERS.join(', ')}` })
  gender?: Gender;

  @ApiPropertyOptional({ minimum: 0, maximum: 150, description: 'Inclusive.' })
  @IsOptional()
  @Transform(toIntegerParam)
  @IsInt()
  @Min(0)
  @Max(150)
  min_age?: number;

  @ApiPropertyOptional({ minimum: 0, maximum: 150, description: 'Inclusive.' })
  @IsOptional()
  @Transform(toIntegerParam)
  @IsInt()
  @Min(0)
  @Max(150)
  max_age?: number;

  @ApiPropertyOptional({ enum: PATIENT_ORDERINGS, default: '-created_at' })
  @IsOptional()
  @IsIn(PATIENT_ORDERINGS, { message: `ordering must be one of: ${PATIENT_ORDERINGS.join(', ')}` })
  ordering?: string;
}

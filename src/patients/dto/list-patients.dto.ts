import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { orderingsOf, PageQueryDto, toIntegerParam } from '../../common/pagination/page-query.dto.js';
import { IsSearchTerm } from '../../common/search.js';
import { GENDERS, type Gender, type Patient } from '../patient.entity.js';
import { lowercase } from './create-patient.dto.js';

/** The orderings a patient list offers, declared once: wire name -> entity property (column and kind come from metadata). */
export const PATIENT_SORTS = { name: 'name', created_at: 'createdAt', age: 'age' } satisfies Record<string, keyof Patient>;
export const PATIENT_ORDERINGS = orderingsOf(PATIENT_SORTS);
export const PATIENT_DEFAULT_ORDERING = '-created_at';

export class ListPatientsDto extends PageQueryDto {
  @ApiPropertyOptional({
    description:
      'Case-insensitive substring of the name. A term with fewer than 3 letters or digits in a row matches names that start with it; one without any letter or digit is refused (400).',
    maxLength: 200,
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @IsSearchTerm()
  search?: string;

  @ApiPropertyOptional({ enum: GENDERS })
  @IsOptional()
  @Transform(lowercase)
  @IsIn(GENDERS, { message: `gender must be one of: ${GENDERS.join(', ')}` })
  gender?: Gender;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 150, description: 'Inclusive.' })
  @IsOptional()
  @Transform(toIntegerParam)
  @IsInt()
  @Min(0)
  @Max(150)
  min_age?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 150, description: 'Inclusive.' })
  @IsOptional()
  @Transform(toIntegerParam)
  @IsInt()
  @Min(0)
  @Max(150)
  max_age?: number;

  @ApiPropertyOptional({ enum: PATIENT_ORDERINGS, default: PATIENT_DEFAULT_ORDERING })
  @IsOptional()
  @IsIn(PATIENT_ORDERINGS, { message: `ordering must be one of: ${PATIENT_ORDERINGS.join(', ')}` })
  ordering?: string;
}

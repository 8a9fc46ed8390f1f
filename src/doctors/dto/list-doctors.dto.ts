import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { orderingsOf, PageQueryDto } from '../../common/pagination/page-query.dto.js';
import { IsSearchTerm } from '../../common/search.js';
import type { Doctor } from '../doctor.entity.js';

/** The orderings the doctor list offers, declared once: wire name -> entity property (column and kind come from metadata). */
export const DOCTOR_SORTS = { name: 'name', specialization: 'specialization', created_at: 'createdAt' } satisfies Record<
  string,
  keyof Doctor
>;
export const DOCTOR_ORDERINGS = orderingsOf(DOCTOR_SORTS);
export const DOCTOR_DEFAULT_ORDERING = '-created_at';

export class ListDoctorsDto extends PageQueryDto {
  @ApiPropertyOptional({
    description:
      'Case-insensitive substring of the name or the specialization. A term with fewer than 3 letters or digits in a row matches those that start with it; one without any letter or digit is refused (400).',
    maxLength: 200,
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @IsSearchTerm()
  search?: string;

  @ApiPropertyOptional({ description: 'Case-insensitive exact specialization.', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  specialization?: string;

  @ApiPropertyOptional({ enum: DOCTOR_ORDERINGS, default: DOCTOR_DEFAULT_ORDERING })
  @IsOptional()
  @IsIn(DOCTOR_ORDERINGS, { message: `ordering must be one of: ${DOCTOR_ORDERINGS.join(', ')}` })
  ordering?: string;
}

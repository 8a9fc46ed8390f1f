import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../common/pagination.js';

export const DOCTOR_ORDERINGS = ['name', '-name', 'specialization', '-specialization', 'created_at', '-created_at'] as const;

export class ListDoctorsDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Case-insensitive substring of the name or the specialization.', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  search?: string;

  @ApiPropertyOptional({ description: 'Case-insensitive exact specialization.', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  specialization?: string;

  @ApiPropertyOptional({ enum: DOCTOR_ORDERINGS, default: '-created_at' })
  @IsOptional()
  @IsIn(DOCTOR_ORDERINGS, { message: `ordering must be one of: ${DOCTOR_ORDERINGS.join(', ')}` })
  ordering?: string;
}

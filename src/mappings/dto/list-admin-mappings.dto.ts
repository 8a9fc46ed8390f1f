import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';
import { PageQueryDto } from '../../common/pagination/page-query.dto.js';

/** Every mapping, newest first, optionally narrowed to one patient, doctor or owner. */
export class ListAdminMappingsDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Only the doctors assigned to this patient.' })
  @IsOptional()
  @IsUUID('all', { message: 'patient must be a patient id (UUID)' })
  patient?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Only the patients of this doctor.' })
  @IsOptional()
  @IsUUID('all', { message: 'doctor must be a doctor id (UUID)' })
  doctor?: string;

  @ApiPropertyOptional({ format: 'uuid', description: "Only the mappings of this user's patients." })
  @IsOptional()
  @IsUUID('all', { message: 'owner must be a user id (UUID)' })
  owner?: string;
}

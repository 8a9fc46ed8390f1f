import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';
import { ListPatientsDto } from './list-patients.dto.js';

export class ListAdminPatientsDto extends ListPatientsDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Only the patients of this user.' })
  @IsOptional()
  @IsUUID('all', { message: 'owner must be a user id (UUID)' })
  owner?: string;
}

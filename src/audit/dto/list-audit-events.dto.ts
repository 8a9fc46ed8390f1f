import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { IsRfc3339DateTime } from '../../common/date-time.js';
import { PageQueryDto, toIntegerParam } from '../../common/pagination.js';
import { AUDIT_ACTIONS, AUDIT_RESOURCE_TYPES, type AuditAction, type AuditResourceType } from '../audit-event.entity.js';

/** The audit trail, newest first, narrowed by any of these. */
export class ListAuditEventsDto extends PageQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Events of this user (the actor).' })
  @IsOptional()
  @IsUUID('all', { message: 'actor must be a user id (UUID)' })
  actor?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Events concerning this patient (its own and its mappings’).' })
  @IsOptional()
  @IsUUID('all', { message: 'patient must be a patient id (UUID)' })
  patient?: string;

  @ApiPropertyOptional({ enum: AUDIT_RESOURCE_TYPES })
  @IsOptional()
  @IsIn(AUDIT_RESOURCE_TYPES, { message: `resource_type must be one of: ${AUDIT_RESOURCE_TYPES.join(', ')}` })
  resource_type?: AuditResourceType;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID('all', { message: 'resource_id must be a UUID' })
  resource_id?: string;

  @ApiPropertyOptional({ enum: AUDIT_ACTIONS })
  @IsOptional()
  @IsIn(AUDIT_ACTIONS, { message: `action must be one of: ${AUDIT_ACTIONS.join(', ')}` })
  action?: AuditAction;

  @ApiPropertyOptional({ type: 'integer', minimum: 100, maximum: 599, description: 'The outcome: the HTTP status the request ended with.' })
  @IsOptional()
  @Transform(toIntegerParam)
  @IsInt()
  @Min(100)
  @Max(599)
  status?: number;

  @ApiPropertyOptional({ format: 'date-time', description: 'At or after this time.' })
  @IsOptional()
  @IsRfc3339DateTime()
  since?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Before this time.' })
  @IsOptional()
  @IsRfc3339DateTime()
  until?: string;
}

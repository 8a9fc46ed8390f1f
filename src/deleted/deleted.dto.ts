import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { PageQueryDto } from '../common/pagination/page-query.dto.js';
import type { Doctor } from '../doctors/doctor.entity.js';
import type { Patient } from '../patients/patient.entity.js';

export const DELETED_TYPES = ['patient', 'doctor'] as const;
export type DeletedType = (typeof DELETED_TYPES)[number];

/** GET /api/admin/deleted/: which kind of record (patients unless asked), a page and a cursor; most recently deleted first. */
export class ListDeletedDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: DELETED_TYPES, default: 'patient', description: 'Deleted patients (the default) or deleted doctors.' })
  @IsOptional()
  @IsIn(DELETED_TYPES, { message: `type must be one of: ${DELETED_TYPES.join(', ')}` })
  type?: DeletedType;
}

/** A deleted record, as the admins' Deleted list shows it: enough to recognise it and restore it. */
export class DeletedRecordDto {
  @ApiProperty({ enum: DELETED_TYPES, example: 'patient' })
  type: DeletedType;

  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'Ada Lovelace' })
  name: string;

  @ApiProperty({ type: 'integer', minimum: 1, example: 3, description: 'The version the delete made; a restore makes the next.' })
  version: number;

  @ApiProperty({ format: 'date-time', example: '2026-12-04T12:00:00.000Z' })
  deleted_at: string;

  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'Who deleted it (null once that account is gone).' })
  deleted_by: string | null;

  @ApiProperty({ format: 'date-time', example: '2027-01-03T12:00:00.000Z', description: 'When DELETED_RETENTION_DAYS ends for it: from then on it may be purged for good.' })
  purge_after: string;
}

export function toDeletedRecordDto(type: DeletedType, record: Patient | Doctor, retentionDays: number): DeletedRecordDto {
  const deletedAt = record.deletedAt ?? new Date(0);
  return {
    type,
    id: record.id,
    name: record.name,
    version: record.version,
    deleted_at: deletedAt.toISOString(),
    deleted_by: record.deletedById,
    purge_after: new Date(deletedAt.getTime() + retentionDays * 86_400_000).toISOString(),
  };
}

import { ApiProperty } from '@nestjs/swagger';
import { AUDIT_ACTIONS, AUDIT_RESOURCE_TYPES, type AuditAction, type AuditResourceType } from '../audit-event.entity.js';

/** One audit event: ids only, never a patient's data. */
export class AuditEventDto {
  @ApiProperty({ description: 'Position in the hash chain (a decimal string: it can exceed 2^53).', example: '42' })
  seq: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-26T12:00:00.000Z' })
  at: string;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  actor_id: string | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  session_id: string | null;

  @ApiProperty({ enum: AUDIT_ACTIONS })
  action: AuditAction;

  @ApiProperty({ enum: AUDIT_RESOURCE_TYPES, nullable: true })
  resource_type: AuditResourceType | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  resource_id: string | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  patient_id: string | null;

  @ApiProperty({ type: [String], nullable: true, description: 'For a list: the ids it returned.' })
  result_ids: string[] | null;

  @ApiProperty({ example: 200 })
  status: number;

  @ApiProperty({ type: String, nullable: true, example: 'not_found' })
  reason: string | null;

  @ApiProperty({ type: String, nullable: true })
  request_id: string | null;

  @ApiProperty({ type: String, nullable: true })
  client_ip: string | null;

  @ApiProperty({ type: String, nullable: true })
  user_agent: string | null;

  @ApiProperty({ description: 'sha256 of prev_hash and the event (hex).' })
  hash: string;

  @ApiProperty({ description: 'The previous event’s hash (hex).' })
  prev_hash: string;
}

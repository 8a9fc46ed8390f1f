import { ApiProperty } from '@nestjs/swagger';
import { AUDIT_ACTIONS, AUDIT_RESOURCE_TYPES, type AuditAction, type AuditResourceType } from '../audit-event.entity.js';

/** One audit event: ids only, never a patient's data. */
export class AuditEventDto {
  @ApiProperty({
    description: 'The event’s number, in the order events were written (a decimal string: it can exceed 2^53). Gaps are writes that rolled back.',
    example: '42',
  })
  seq: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Position in the hash chain; null for the fraction of a second before the event is sealed.',
    example: '42',
  })
  chain_position: string | null;

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

  @ApiProperty({ type: 'integer', example: 200 })
  status: number;

  @ApiProperty({ type: String, nullable: true, example: 'not_found' })
  reason: string | null;

  @ApiProperty({ type: String, nullable: true })
  request_id: string | null;

  @ApiProperty({ type: String, nullable: true })
  client_ip: string | null;

  @ApiProperty({ type: String, nullable: true })
  user_agent: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'sha256 of prev_hash, the position and the event (hex); null until sealed.' })
  hash: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'The previous link’s hash (hex); null until sealed.' })
  prev_hash: string | null;
}

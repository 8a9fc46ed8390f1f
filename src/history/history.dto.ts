import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiProperty } from '@nestjs/swagger';
import { ApiPageResponse } from '../common/api-docs.js';
import { PageQueryDto } from '../common/pagination/page-query.dto.js';
import { HISTORY_ACTIONS, type FieldChange, type HistoryAction } from './history.entity.js';
import type { HistoryEntry } from './history.repository.js';

/** A history's query: a page and a cursor; always newest first. */
export class ListHistoryDto extends PageQueryDto {}

/** A followed field's value: text (name, gender, address, email...) or a whole number (age). */
const FIELD_VALUE = [{ type: 'string' }, { type: 'integer' }];

export class FieldChangeDto {
  @ApiProperty({ oneOf: FIELD_VALUE, nullable: true, description: 'The value before the change (null for a create).', example: 41 })
  from: unknown;

  @ApiProperty({ oneOf: FIELD_VALUE, nullable: true, description: 'The value after it.', example: 42 })
  to: unknown;
}

export class HistoryEntryDto {
  @ApiProperty({ type: 'integer', minimum: 1, example: 2, description: 'The version this change made.' })
  version: number;

  @ApiProperty({ format: 'date-time', example: '2026-12-04T12:00:00.000Z' })
  changed_at: string;

  @ApiProperty({
    format: 'uuid',
    nullable: true,
    type: String,
    description:
      "The user who made the change. Shown to admins; anyone else sees their own id and null for someone else's change (and null once the account is gone).",
  })
  changed_by: string | null;

  @ApiProperty({ enum: HISTORY_ACTIONS, example: 'update' })
  action: HistoryAction;

  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: '#/components/schemas/FieldChangeDto' },
    description: 'Each field the change touched: its value before and after. A create lists every field, from null.',
    example: { age: { from: 41, to: 42 } },
  })
  changes: Record<string, FieldChange>;
}

export function toHistoryEntryDto(entry: HistoryEntry): HistoryEntryDto {
  return {
    version: entry.version,
    changed_at: entry.changedAt.toISOString(),
    changed_by: entry.changedById,
    action: entry.action,
    // jsonb keeps keys in its own order ("to" before "from"): each change reads from, then to.
    changes: Object.fromEntries(Object.entries(entry.changes).map(([field, { from, to }]) => [field, { from, to }])),
  };
}

/** A 200 whose body is a page of a record's history. */
export function ApiHistoryResponse(description: string) {
  return applyDecorators(ApiExtraModels(FieldChangeDto), ApiPageResponse(HistoryEntryDto, description));
}

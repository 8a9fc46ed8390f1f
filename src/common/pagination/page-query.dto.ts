import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, MaxLength, Min } from 'class-validator';

export const DEFAULT_PAGE_SIZE = 20;
/** As DRF's max_page_size: larger requests are capped, not refused. */
export const MAX_PAGE_SIZE = 100;

/**
 * "20" -> 20; anything that is not a plain decimal integer stays a string and
 * fails @IsInt. Any length of digits is a (positive) integer: a huge page_size
 * is capped like any other above the maximum, so it is clamped, not refused.
 */
export const toIntegerParam = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d+$/.test(value) ? Math.min(Number(value), Number.MAX_SAFE_INTEGER) : value;

/** The query parameters every list takes; each list's DTO extends it with its filters and orderings. */
export class PageQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    description: `Items per page (default ${DEFAULT_PAGE_SIZE}; above ${MAX_PAGE_SIZE} is capped at ${MAX_PAGE_SIZE}).`,
    minimum: 1,
    example: 20,
  })
  @IsOptional()
  @Transform(toIntegerParam)
  @IsInt({ message: 'page_size must be a positive integer' })
  @Min(1, { message: 'page_size must be a positive integer' })
  page_size?: number;

  @ApiPropertyOptional({ description: 'Opaque cursor taken from a `next` or `previous` link.' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor is malformed' })
  cursor?: string;
}

/** `{ name: ..., age: ... }` -> ['name', '-name', 'age', '-age']: a list's `ordering` choices, from its sort fields. */
export function orderingsOf<K extends string>(sorts: Record<K, unknown>): string[] {
  return Object.keys(sorts).flatMap((k) => [k, `-${k}`]);
}

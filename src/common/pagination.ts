import { createHmac, timingSafeEqual } from 'node:crypto';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, MaxLength, Min } from 'class-validator';
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { ValidationFailedException } from './problem.js';

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

export class PageQueryDto {
  @ApiPropertyOptional({
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
  @Matches(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, { message: 'cursor is malformed' })
  cursor?: string;
}

/** The envelope of every list, shaped as DRF's CursorPagination. */
export class PageDto<T> {
  @ApiProperty({ type: String, nullable: true, description: 'Absolute URL of the next page, or null.' })
  next: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Absolute URL of the previous page, or null.' })
  previous: string | null;

  results: T[];
}

export type SortKind = 'string' | 'number' | 'date';

/** A field a list may be ordered by: wire name -> SQL column and value kind. */
export interface SortField {
  column: string;
  kind: SortKind;
}

export interface Ordering {
  /** As given on the wire, e.g. "-created_at". */
  key: string;
  field: SortField;
  descending: boolean;
}

interface CursorPayload {
  /** Ordering key the cursor was made for. */
  o: string;
  /** Sort value of the boundary row. */
  v: string | number;
  /** Id of the boundary row (the tie-breaker). */
  i: string;
  /** True when the cursor pages backwards (a `previous` link). */
  r: boolean;
}

export interface PageRequest {
  pageSize: number;
  ordering: Ordering;
  cursor?: CursorPayload;
}

export interface PageLinks {
  /** Absolute URL of the current request; cursor is replaced in it. */
  url: URL;
}

/**
 * Resolves ?ordering= against an allow-list; "-" reverses. Unknown -> 400.
 */
export function parseOrdering(raw: string | undefined, allowed: Record<string, SortField>, fallback: string): Ordering {
  const key = raw ?? fallback;
  const descending = key.startsWith('-');
  const name = descending ? key.slice(1) : key;
  const field = Object.hasOwn(allowed, name) ? allowed[name] : undefined;
  if (!field) {
    const choices = Object.keys(allowed).flatMap((k) => [k, `-${k}`]);
    throw new ValidationFailedException({ ordering: [`ordering must be one of: ${choices.join(', ')}`] });
  }
  return { key, field, descending };
}

/**
 * Signs and checks cursors: a cursor is opaque to clients, and a tampered or
 * foreign one is a 400, never a query with attacker-chosen values.
 */
export class CursorCodec {
  constructor(private readonly key: Buffer) {}

  encode(payload: CursorPayload): string {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  decode(token: string | undefined, ordering: Ordering): CursorPayload | undefined {
    if (token === undefined) return undefined;
    const invalid = () => new ValidationFailedException({ cursor: ['cursor is invalid or has been tampered with'] });
    const [body, signature] = token.split('.');
    if (!body || !signature) throw invalid();
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid();
    let payload: CursorPayload;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as CursorPayload;
    } catch {
      throw invalid();
    }
    if (payload.o !== ordering.key) {
      throw new ValidationFailedException({ cursor: ['cursor was made for another ordering'] });
    }
    return payload;
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest().subarray(0, 16).toString('base64url');
  }
}

export function pageRequest(query: PageQueryDto, ordering: Ordering, codec: CursorCodec): PageRequest {
  return {
    pageSize: Math.min(query.page_size ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    ordering,
    cursor: codec.decode(query.cursor, ordering),
  };
}

function sortValue(row: ObjectLiteral, property: string, kind: SortKind): string | number {
  const value = row[property];
  return kind === 'date' ? (value as Date).toISOString() : (value as string | number);
}

/**
 * Keyset pagination: WHERE (sort, id) > (boundary) ORDER BY sort, id LIMIT n+1.
 * The same SQL whatever the page's position: no OFFSET, no COUNT.
 * `property` is the entity property holding the sort value.
 */
export async function keysetPage<T extends ObjectLiteral & { id: string }>(
  qb: SelectQueryBuilder<T>,
  alias: string,
  page: PageRequest,
  propertyOf: (column: string) => string,
  codec: CursorCodec,
  links: PageLinks,
): Promise<PageDto<T>> {
  const { ordering, cursor, pageSize } = page;
  const backwards = cursor?.r === true;
  // Walking backwards reverses the SQL order; the rows are flipped afterwards.
  const descending = ordering.descending !== backwards;
  const dir = descending ? 'DESC' : 'ASC';
  const column = `${alias}.${ordering.field.column}`;

  if (cursor) {
    const value = checkCursorValue(cursor.v, ordering.field.kind);
    assertCursorId(cursor.i);
    qb.andWhere(`(${column}, ${alias}.id) ${descending ? '<' : '>'} (:cursorValue, :cursorId)`, {
      cursorValue: value,
      cursorId: cursor.i,
    });
  }
  qb.orderBy(column, dir).addOrderBy(`${alias}.id`, dir).limit(pageSize + 1);

  const rows = await qb.getMany();
  const hasMore = rows.length > pageSize;
  if (hasMore) rows.pop();
  if (backwards) rows.reverse();

  const property = propertyOf(ordering.field.column);
  const link = (row: T, reverse: boolean) => {
    const url = new URL(links.url);
    url.searchParams.set(
      'cursor',
      codec.encode({ o: ordering.key, v: sortValue(row, property, ordering.field.kind), i: row.id, r: reverse }),
    );
    return url.toString();
  };
  const first = rows[0];
  const last = rows[rows.length - 1];
  const hasNext = backwards ? true : hasMore;
  const hasPrevious = backwards ? hasMore : cursor !== undefined;
  return {
    next: hasNext && last ? link(last, false) : null,
    previous: hasPrevious && first ? link(first, true) : null,
    results: rows,
  };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkCursorValue(value: unknown, kind: SortKind): string | number {
  const bad = () => new ValidationFailedException({ cursor: ['cursor is invalid'] });
  if (kind === 'number' && (typeof value !== 'number' || !Number.isSafeInteger(value))) throw bad();
  if (kind === 'string' && typeof value !== 'string') throw bad();
  if (kind === 'date' && (typeof value !== 'string' || Number.isNaN(Date.parse(value)))) throw bad();
  return value as string | number;
}

function assertCursorId(id: unknown): void {
  if (typeof id !== 'string' || !UUID_RE.test(id)) {
    throw new ValidationFailedException({ cursor: ['cursor is invalid'] });
  }
}

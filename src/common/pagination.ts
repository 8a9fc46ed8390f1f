import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
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
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor is malformed' })
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
  /** What the cursor is bound to: the list and its ordering. */
  scope: string;
  cursor?: CursorPayload;
}

export interface PageLinks<T extends ObjectLiteral = ObjectLiteral> {
  /** Absolute URL of the current request; cursor is replaced in it. */
  url: URL;
  /**
   * Runs the finished query (default: TypeORM's getMany). Hot lists pass one
   * that runs the builder's SQL as a prepared statement and maps the rows.
   */
  fetch?: (qb: SelectQueryBuilder<T>) => Promise<T[]>;
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
 * Seals and opens cursors with AES-256-GCM. A cursor carries the boundary
 * row's sort value, which can be a patient's name or age: encrypted, it tells
 * nothing to a proxy log or a browser history. The list it belongs to (and
 * its ordering) is the authenticated associated data, so a tampered cursor, or
 * one taken from another list, is a 400, never a query with chosen values.
 */
export class CursorCodec {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('CursorCodec needs a 32-byte key');
  }

  encode(payload: CursorPayload, scope: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(scope, 'utf8'));
    const sealed = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
  }

  decode(token: string | undefined, scope: string): CursorPayload | undefined {
    if (token === undefined) return undefined;
    const invalid = () =>
      new ValidationFailedException({ cursor: ['cursor is invalid, has been tampered with, or belongs to another list'] });
    const raw = Buffer.from(token, 'base64url');
    // Re-encoding must give the same text: base64url would otherwise ignore a changed final character.
    if (raw.length <= IV_BYTES + TAG_BYTES || raw.toString('base64url') !== token) throw invalid();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(scope, 'utf8'));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
      const payload = JSON.parse(plain.toString('utf8')) as CursorPayload;
      if (typeof payload !== 'object' || payload === null || typeof payload.r !== 'boolean') throw invalid();
      return payload;
    } catch {
      throw invalid();
    }
  }
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The page a request asks for. `list` names the list (e.g. "patients", or
 * "doctors-of:<patient id>"): a cursor only works on the list and ordering
 * it was made for.
 */
export function pageRequest(query: PageQueryDto, ordering: Ordering, codec: CursorCodec, list: string): PageRequest {
  const scope = `${list}|${ordering.key}`;
  return {
    pageSize: Math.min(query.page_size ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    ordering,
    scope,
    cursor: codec.decode(query.cursor, scope),
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
  links: PageLinks<T>,
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

  const rows = links.fetch ? await links.fetch(qb) : await qb.getMany();
  const hasMore = rows.length > pageSize;
  if (hasMore) rows.pop();
  if (backwards) rows.reverse();

  const property = propertyOf(ordering.field.column);
  const link = (row: T, reverse: boolean) => {
    const url = new URL(links.url);
    url.searchParams.set(
      'cursor',
      codec.encode({ v: sortValue(row, property, ordering.field.kind), i: row.id, r: reverse }, page.scope),
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

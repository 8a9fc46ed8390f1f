import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { isUuid } from '../params.js';
import { ValidationFailedException } from '../problem.js';
import { type CursorCodec, type CursorPayload } from './cursor-codec.js';
import { pageOf, type PageDto } from './page.dto.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type PageQueryDto } from './page-query.dto.js';

export type SortKind = 'string' | 'number' | 'date';

/** A field a list may be ordered by: its SQL column, the entity property holding its value, and the value's kind. */
export interface SortField {
  column: string;
  property: string;
  kind: SortKind;
  /** The column alone orders the rows (a unique key, such as the audit trail's seq): no id tie-breaker. */
  unique?: boolean;
}

export interface Ordering {
  /** As given on the wire, e.g. "-created_at". */
  key: string;
  field: SortField;
  descending: boolean;
}

/** Who asks for the page: a cursor works for this caller only. */
export interface PageCaller {
  id: string;
  role: string;
}

export interface PageRequest {
  pageSize: number;
  ordering: Ordering;
  /** What the cursor is bound to: the list, its ordering and the caller. */
  scope: string;
  cursor?: CursorPayload;
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
 * The page a request asks for. `list` names the list (e.g. "patients", or
 * "doctors-of:<patient id>"): a cursor only works on the list and ordering it
 * was made for, and for the caller it was given to (their id and role), so a
 * cursor replayed by someone else, or by the same person with another role,
 * is a 400 (issue 11, item 6).
 */
export function pageRequest(
  query: PageQueryDto,
  ordering: Ordering,
  codec: CursorCodec,
  list: string,
  caller: PageCaller,
): PageRequest {
  const scope = JSON.stringify([list, ordering.key, caller.id, caller.role]);
  return {
    pageSize: Math.min(query.page_size ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    ordering,
    scope,
    cursor: codec.decode(query.cursor, scope),
  };
}

/** The cursor's boundary, checked against the sort field's kind (a sealed cursor is ours, but stays checked). */
export function cursorBoundary(cursor: CursorPayload, kind: SortKind, unique = false): { value: string | number; id: string } {
  const bad = () => new ValidationFailedException({ cursor: ['cursor is invalid'] });
  const value: unknown = cursor.v;
  if (kind === 'number' && (typeof value !== 'number' || !Number.isSafeInteger(value))) throw bad();
  if (kind === 'string' && typeof value !== 'string') throw bad();
  if (kind === 'date' && (typeof value !== 'string' || Number.isNaN(Date.parse(value)))) throw bad();
  if (unique) return { value: value as string | number, id: '' };
  if (typeof cursor.i !== 'string' || !isUuid(cursor.i)) throw bad();
  return { value: value as string | number, id: cursor.i };
}

/** Where a page starts and which way the SQL walks: a request's cursor, checked. */
export interface Keyset {
  /** The SQL order (a backward walk reverses the list's own). */
  descending: boolean;
  /** The cursor's boundary: `id` is '' for a unique sort field. */
  boundary?: { value: string | number; id: string };
}

export function keysetOf(page: PageRequest): Keyset {
  const { ordering, cursor } = page;
  const descending = ordering.descending !== (cursor?.r === true);
  return cursor ? { descending, boundary: cursorBoundary(cursor, ordering.field.kind, ordering.field.unique) } : { descending };
}

/**
 * Keyset pagination on a query builder: WHERE (sort, id) > (boundary)
 * ORDER BY sort, id, under the parameters `cursorValue` and `cursorId`; the
 * caller adds LIMIT n+1. The same SQL whatever the page's position: no
 * OFFSET, no COUNT. Walking backwards reverses the SQL order (pageOf flips
 * the rows back).
 */
export function orderByKeyset<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  alias: string,
  field: SortField,
  { descending, boundary }: Keyset,
): SelectQueryBuilder<T> {
  const dir = descending ? 'DESC' : 'ASC';
  const column = `${alias}.${field.column}`;
  const after = descending ? '<' : '>';
  if (field.unique) {
    if (boundary) qb.andWhere(`${column} ${after} :cursorValue`, { cursorValue: boundary.value });
    return qb.orderBy(column, dir);
  }
  if (boundary) {
    qb.andWhere(`(${column}, ${alias}.id) ${after} (:cursorValue, :cursorId)`, { cursorValue: boundary.value, cursorId: boundary.id });
  }
  return qb.orderBy(column, dir).addOrderBy(`${alias}.id`, dir);
}

/** orderByKeyset with the page's LIMIT n+1. */
export function applyKeyset<T extends ObjectLiteral>(qb: SelectQueryBuilder<T>, alias: string, page: PageRequest): SelectQueryBuilder<T> {
  return orderByKeyset(qb, alias, page.ordering.field, keysetOf(page)).limit(page.pageSize + 1);
}

/** One page of a query builder's entities (TypeORM's hydration): for lists without a repository of their own yet. */
export async function keysetPage<T extends ObjectLiteral & { id: string }>(
  qb: SelectQueryBuilder<T>,
  alias: string,
  page: PageRequest,
  codec: CursorCodec,
  url: URL,
): Promise<PageDto<T>> {
  return pageOf(await applyKeyset(qb, alias, page).getMany(), page, url, codec);
}

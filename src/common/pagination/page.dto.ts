import { ApiProperty } from '@nestjs/swagger';
import type { CursorCodec } from './cursor-codec.js';
import type { PageRequest, SortKind } from './keyset-query.js';

/** The envelope of every list, shaped as DRF's CursorPagination. */
export class PageDto<T> {
  @ApiProperty({ type: String, nullable: true, description: 'Absolute URL of the next page, or null.' })
  next: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Absolute URL of the previous page, or null.' })
  previous: string | null;

  results: T[];
}

function sortValue(row: Record<string, unknown>, property: string, kind: SortKind): string | number {
  const value = row[property];
  return kind === 'date' ? (value as Date).toISOString() : (value as string | number);
}

/**
 * The envelope for the rows a keyset query answered (up to pageSize + 1, in
 * SQL order): the extra row says there is more, a backwards page is flipped
 * into reading order, and the links carry sealed cursors for the boundary rows.
 * `url` is the current request's absolute URL; only its cursor is replaced.
 */
export function pageOf<T extends object>(rows: T[], page: PageRequest, url: URL, codec: CursorCodec): PageDto<T> {
  const { ordering, cursor, pageSize } = page;
  const backwards = cursor?.r === true;
  const results = rows.slice(0, pageSize);
  const hasMore = rows.length > pageSize;
  if (backwards) results.reverse();

  const property = ordering.field.property;
  const link = (row: T, reverse: boolean) => {
    const next = new URL(url);
    const v = sortValue(row as unknown as Record<string, unknown>, property, ordering.field.kind);
    // A unique sort column needs no tie-breaker id.
    const i = ordering.field.unique ? '' : (row as { id: string }).id;
    next.searchParams.set('cursor', codec.encode({ v, i, r: reverse }, page.scope));
    return next.toString();
  };
  const first = results[0];
  const last = results[results.length - 1];
  const hasNext = backwards ? true : hasMore;
  const hasPrevious = backwards ? hasMore : cursor !== undefined;
  return {
    next: hasNext && last ? link(last, false) : null,
    previous: hasPrevious && first ? link(first, true) : null,
    results,
  };
}

/** The same page with each row turned into its response DTO. */
export function mapPage<T, U>(page: PageDto<T>, map: (row: T) => U): PageDto<U> {
  return { ...page, results: page.results.map(map) };
}

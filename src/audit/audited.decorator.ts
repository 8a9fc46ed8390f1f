import { SetMetadata } from '@nestjs/common';
import type { AuditAction, AuditResourceType } from './audit-event.entity.js';

/** Picks ids out of a route's response (its returned DTO or page, before serialisation) and its route params. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each route's own response type; the selector is written beside it
export type IdSelector = (response: any, params: Record<string, string>) => ReadonlyArray<string | null | undefined>;

export interface AuditedOptions {
  /** The patients the response discloses (every patient of a list): "who saw patient X" finds the event through them. */
  patients?: IdSelector;
  /** A list's result ids (default: each result's `id`). */
  results?: IdSelector;
}

/** A route whose resource depends on the request (GET /api/admin/deleted/?type=doctor): its type from the query, null if none. */
export type ResourceOf = (query: Record<string, unknown>) => AuditResourceType | null;

export interface AuditSpec extends AuditedOptions {
  resource: AuditResourceType | ResourceOf;
  action: AuditAction;
}

export const AUDITED = 'audited';

/** The ids of a page's results, by one field of each (`patient` for mappings, `id` for patients). */
export const eachResult =
  (field: string): IdSelector =>
  (page: { results?: Array<Record<string, unknown>> }) =>
    (page?.results ?? []).map((r) => (typeof r[field] === 'string' ? (r[field] as string) : null));

/**
 * Every call of this route writes one audit event. Reads and lists are
 * recorded by AuditInterceptor once the data is ready (no event, no data),
 * with the ids the route declares it discloses; writes by their service, in
 * the transaction of the change; a refusal by the interceptor (or the guard
 * that refused).
 */
export const Audited = (resource: AuditResourceType | ResourceOf, action: AuditAction, options: AuditedOptions = {}) =>
  SetMetadata(AUDITED, { resource, action, ...options } satisfies AuditSpec);

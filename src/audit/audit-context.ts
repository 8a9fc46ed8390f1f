import { AsyncLocalStorage } from 'node:async_hooks';

/** Who is asking and from where, for the audit events a request writes. */
export interface AuditRequestContext {
  requestId: string | null;
  clientIp: string | null;
  userAgent: string | null;
  actorId: string | null;
  sessionId: string | null;
}

/** Set around each handler by AuditInterceptor, so services record events without passing the request around. */
export const auditContext = new AsyncLocalStorage<AuditRequestContext>();

interface RequestLike {
  id?: unknown;
  ip?: string;
  headers?: Record<string, string | string[] | undefined>;
  user?: { id: string; sessionId: string };
}

/** The most of a client-chosen text (user agent) kept in any audit row (issue 11: attacker text is bounded). */
export const MAX_CLIENT_TEXT = 256;

/** At most `max` UTF-16 units, without leaving half of a surrogate pair at the end. */
export function bounded(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  if (value.length <= max) return value;
  return value.slice(0, /[\uD800-\uDBFF]/.test(value[max - 1]) ? max - 1 : max);
}

export function contextOf(request: RequestLike | undefined): AuditRequestContext {
  const ua = request?.headers?.['user-agent'];
  return {
    requestId: request?.id === undefined ? null : bounded(String(request.id), 128),
    clientIp: bounded(request?.ip, 64),
    userAgent: typeof ua === 'string' ? bounded(ua, MAX_CLIENT_TEXT) : null,
    actorId: request?.user?.id ?? null,
    sessionId: request?.user?.sessionId ?? null,
  };
}

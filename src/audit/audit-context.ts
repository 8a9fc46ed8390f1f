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

export function contextOf(request: RequestLike | undefined): AuditRequestContext {
  const ua = request?.headers?.['user-agent'];
  return {
    requestId: request?.id === undefined ? null : String(request.id).slice(0, 128),
    clientIp: request?.ip?.slice(0, 64) ?? null,
    userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null,
    actorId: request?.user?.id ?? null,
    sessionId: request?.user?.sessionId ?? null,
  };
}

import { HttpException } from '@nestjs/common';

/**
 * A request refused before it reached its handler (no or a bad token, a
 * missing role, a rate limit): Nest's own exception (so it is still an
 * UnauthorizedException, a ForbiddenException...), carrying why as a short
 * code for the audit trail. Guards throw it and record nothing themselves: the
 * exception filter hands every refusal to the REFUSAL_RECORDER, the one place
 * refusals are written (issue 10).
 */
export type Refusal = HttpException & { readonly refusalReason: string };

/** Marks `exception` as a refusal for `reason` (no_token, invalid_token, not_admin, rate_limited...). */
export function refusal<E extends HttpException>(exception: E, reason: string): E & Refusal {
  return Object.assign(exception, { refusalReason: reason });
}

export function isRefusal(exception: unknown): exception is Refusal {
  return exception instanceof HttpException && typeof (exception as Partial<Refusal>).refusalReason === 'string';
}

/** The request as the recorder needs it (Fastify's, after the guards ran). */
export interface RefusedRequest {
  id?: unknown;
  ip?: string;
  method?: string;
  headers?: Record<string, string | string[] | undefined>;
  routeOptions?: { url?: string };
  user?: { id: string; sessionId: string };
}

/** Where refusals go; provided by the audit trail (RefusalWriter). Never throws, never waits. */
export interface RefusalRecorder {
  refused(refusal: Refusal, request: RefusedRequest): void;
}

export const REFUSAL_RECORDER = Symbol('REFUSAL_RECORDER');

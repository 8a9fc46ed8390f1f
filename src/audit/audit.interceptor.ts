import {
  type CallHandler,
  type ExecutionContext,
  HttpException,
  Injectable,
  type NestInterceptor,
  ServiceUnavailableException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { from, Observable, throwError } from 'rxjs';
import { catchError, mergeMap } from 'rxjs/operators';
import { databaseUnavailable } from '../common/db-errors.js';
import { isUuid } from '../common/params.js';
import { isNotModified } from '../common/versioned.js';
import { auditContext, contextOf } from './audit-context.js';
import { AuditService } from './audit.service.js';
import type { AuditResourceType } from './audit-event.entity.js';
import { AUDITED, type AuditSpec, eachResult, type IdSelector } from './audited.decorator.js';

interface AuditedRequest {
  params?: Record<string, string>;
  query?: Record<string, unknown>;
  user?: { id: string; sessionId: string };
}

/** The actions whose event is written once their data is ready (a disclosure); a history is the record's past values. */
const READS = new Set(['read', 'list', 'history']);

type ResolvedSpec = Omit<AuditSpec, 'resource'> & { resource: AuditResourceType | null };

/** The spec with its resource type known (some routes take it from the query). */
function resolved(spec: AuditSpec, request: AuditedRequest): ResolvedSpec {
  return typeof spec.resource === 'function' ? { ...spec, resource: spec.resource(request.query ?? {}) } : (spec as ResolvedSpec);
}

/** Why a request was refused, as a short code for the trail. */
export function reasonFor(status: number): string {
  if (status === 404) return 'not_found';
  if (status === 403) return 'forbidden';
  if (status === 409) return 'conflict';
  if (status === 412) return 'precondition_failed';
  if (status === 428) return 'precondition_required';
  if (status === 429) return 'rate_limited';
  if (status === 401) return 'invalid_token';
  if (status >= 500) return 'unavailable';
  return 'invalid_request';
}

/**
 * Runs every handler inside its request's audit context, and writes the
 * event of an @Audited route: for a read or a list once its data is ready,
 * failing the request with 503 when the event cannot be written (no event,
 * no data); for any refusal, whatever the action.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<AuditedRequest>();
    const declared = this.reflector.get<AuditSpec | undefined>(AUDITED, context.getHandler());
    const spec = declared && resolved(declared, request);
    const ctx = contextOf(request);
    const id = request.params?.id;
    const resourceId = id && isUuid(id) ? id.toLowerCase() : null;

    return new Observable((subscriber) =>
      auditContext.run(ctx, () =>
        next
          .handle()
          .pipe(
            mergeMap((data: unknown) => {
              if (!spec || !READS.has(spec.action)) return [data];
              return from(this.recordRead(spec, request, resourceId, data).then(() => data));
            }),
            catchError((error: unknown) => {
              // A failed audit write is not recorded again (it would fail the same way).
              if (spec && !(error instanceof ServiceUnavailableException)) {
                const status = error instanceof HttpException ? error.getStatus() : databaseUnavailable(error) ? 503 : 500;
                this.audit.recordRefusal(
                  {
                    action: spec.action,
                    resourceType: spec.resource,
                    resourceId: spec.action === 'list' ? null : resourceId,
                    patientId: spec.resource === 'patient' || spec.action === 'list' ? resourceId : null,
                    status,
                    reason: reasonFor(status),
                  },
                  ctx,
                );
              }
              return throwError(() => error);
            }),
          )
          .subscribe(subscriber),
      ),
    );
  }

  private async recordRead(spec: ResolvedSpec, request: AuditedRequest, resourceId: string | null, data: unknown): Promise<void> {
    const body = data as { id?: unknown; results?: unknown } | undefined;
    const params = request.params ?? {};
    const ids = (select: IdSelector | undefined) => (select ? select(data, params).filter((id): id is string => typeof id === 'string') : null);
    // A history's entries are versions of the one record, not records: no result ids.
    const results = Array.isArray(body?.results) && spec.action !== 'history' ? (ids(spec.results ?? eachResult('id')) ?? []) : null;
    // Throws 503 when the event cannot be written: the data is then never sent (fail closed).
    await this.audit.record({
      action: spec.action,
      resourceType: spec.resource,
      resourceId: spec.action === 'read' ? (typeof body?.id === 'string' ? body.id : resourceId) : spec.action === 'history' ? resourceId : null,
      // A patient read, or a list scoped to one patient (GET /api/mappings/{patient_id}/).
      patientId: spec.resource === 'patient' || spec.action === 'list' ? resourceId : null,
      patientIds: ids(spec.patients),
      resultIds: results,
      // A 304 confirmed the client's copy is current: a disclosure all the same.
      status: isNotModified(request) ? 304 : 200,
    });
  }
}

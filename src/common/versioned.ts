import {
  applyDecorators,
  type CallHandler,
  createParamDecorator,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import { ApiHeader, ApiProperty, ApiResponse } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';
import { map } from 'rxjs/operators';
import { AppConfig } from '../config/app-config.js';
import { ApiProblems } from './api-docs.js';
import { etagOf, notModified, PreconditionRequiredException, type Preconditions, preconditionsOf } from './preconditions.js';

const PRECONDITIONS = Symbol('preconditions');
const NOT_MODIFIED = Symbol('notModified');

type ConditionalRequest = FastifyRequest & { [PRECONDITIONS]?: Preconditions; [NOT_MODIFIED]?: boolean };

const WRITES = new Set(['PUT', 'PATCH', 'DELETE']);
const READS = new Set(['GET', 'HEAD']);

/** Whether this request's answer is a 304 (a GET or HEAD whose If-None-Match names the current version). Read by the audit trail and the send hook. */
export function isNotModified(request: object): boolean {
  return (request as ConditionalRequest)[NOT_MODIFIED] === true;
}

/**
 * The conditional side of a versioned record's route: reads If-Match and
 * If-None-Match before the handler (400 when malformed; 428 for a write
 * without If-Match when REQUIRE_IF_MATCH is on), and after it sets `ETag`
 * from the answer's `version` and marks a GET whose If-None-Match names that
 * version, which http/not-modified.ts then sends as 304 without a body. The
 * write itself checks the version in its UPDATE or DELETE (the services).
 */
@Injectable()
export class VersionedInterceptor implements NestInterceptor {
  private readonly requireIfMatch: boolean;

  constructor(config: AppConfig) {
    this.requireIfMatch = config.records.requireIfMatch;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<ConditionalRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    // A create's target is the collection, which has no version: its conditions are not read.
    const conditions = request.method === 'POST' ? {} : preconditionsOf(request.headers);
    if (WRITES.has(request.method) && this.requireIfMatch && conditions.ifMatch === undefined) {
      throw new PreconditionRequiredException();
    }
    request[PRECONDITIONS] = conditions;
    return next.handle().pipe(
      map((body: unknown) => {
        const version = (body as { version?: unknown } | undefined)?.version;
        if (typeof version === 'number') {
          reply.header('ETag', etagOf(version));
          if (READS.has(request.method) && notModified(conditions, version)) request[NOT_MODIFIED] = true;
        }
        return body;
      }),
    );
  }
}

/** The conditions VersionedInterceptor read from this request's headers. */
export const RequestPreconditions = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): Preconditions => ctx.switchToHttp().getRequest<ConditionalRequest>()[PRECONDITIONS] ?? {},
);

/** The `version` field of a versioned record's body. */
export function ApiVersionProperty() {
  return ApiProperty({
    type: 'integer',
    minimum: 1,
    example: 3,
    description: '1 when created, one more with every change; the ETag header of a single-record answer is W/"<version>".',
  });
}

/** The ETag response header, documented on every answer that carries one record. */
export const ETAG_HEADER = {
  ETag: { description: 'The record\'s version as a weak entity tag, W/"<version>": send it back in If-Match or If-None-Match.', schema: { type: 'string', example: 'W/"3"' } },
} as const;

const IF_MATCH = ApiHeader({
  name: 'If-Match',
  required: false,
  description:
    'Change only if the record is still at this version: the ETag you read (W/"3"; "3" is read the same), a comma-separated list of them, or * for any version. Otherwise 412, nothing changed.',
  schema: { type: 'string', example: 'W/"3"' },
});

const IF_NONE_MATCH = (write: boolean) =>
  ApiHeader({
    name: 'If-None-Match',
    required: false,
    description: write
      ? 'Change only if the record is not at one of these versions (* : never, as the record exists). Otherwise 412.'
      : 'The ETag of the copy you hold: 304 without a body if the record is still at that version.',
    schema: { type: 'string', example: 'W/"3"' },
  });

function resourceProblems(resource: string) {
  return ApiProblems(
    {
      status: 412,
      detail: `The ${resource} has changed: it is now at version 4, which the request's If-Match or If-None-Match does not allow. Read it again and resend your change.`,
      current_version: 4,
    },
    428,
  );
}

/** A GET of one versioned record: ETag on the answer, 304 on a matching If-None-Match. */
export function VersionedRead() {
  return applyDecorators(
    UseInterceptors(VersionedInterceptor),
    IF_NONE_MATCH(false),
    ApiResponse({ status: 304, description: 'Not modified: the record is still at the version If-None-Match names', headers: ETAG_HEADER }),
    ApiProblems({ status: 400, detail: 'The If-None-Match header is malformed.', errors: { 'If-None-Match': ['If-None-Match must be "*" or a comma-separated list of entity tags, such as W/"3"'] } }),
  );
}

/** A PUT, PATCH or DELETE of one versioned record: If-Match and If-None-Match checked by the write itself. */
export function VersionedWrite(resource: string) {
  return applyDecorators(UseInterceptors(VersionedInterceptor), IF_MATCH, IF_NONE_MATCH(true), resourceProblems(resource));
}

/** A create of a versioned record: ETag (W/"1") on the 201. */
export function VersionedCreate() {
  return UseInterceptors(VersionedInterceptor);
}

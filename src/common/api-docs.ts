import { applyDecorators, HttpCode, type Type } from '@nestjs/common';
import { ApiExtraModels, ApiHeader, ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { PageDto } from './pagination.js';
import { problem, PROBLEM_CONTENT_TYPE, type ProblemDetails } from './problem.js';

/** RFC 9457 problem details, documented once and referenced by every error response. */
export class ProblemDto {
  @ApiProperty({ example: 'about:blank' })
  type: string;

  @ApiProperty({ example: 'Bad Request' })
  title: string;

  @ApiProperty({ type: 'integer', example: 400 })
  status: number;

  @ApiProperty({ example: 'The request is invalid; see errors for each field.' })
  detail: string;

  @ApiPropertyOptional({ example: '/api/patients/' })
  instance?: string;

  @ApiPropertyOptional({
    description: 'Field wire name -> messages (validation errors only).',
    type: 'object',
    additionalProperties: { type: 'array', items: { type: 'string' } },
    example: { age: ['age must not be greater than 150'] },
  })
  errors?: Record<string, string[]>;

  @ApiPropertyOptional({ type: 'integer', description: "A 412's: the record's current version (its ETag is W/\"<version>\").", example: 4 })
  current_version?: number;

  @ApiPropertyOptional({ description: 'The X-Request-Id of the request, for support.' })
  request_id?: string;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (validation errors name each field)',
  401: 'Missing, invalid or expired token',
  403: 'Authenticated, but not allowed to do this',
  404: 'Not found (or not yours)',
  409: 'Conflicts with an existing record',
  412: 'Precondition failed: the record is not at the version If-Match names (nothing changed; current_version says where it is)',
  428: 'Precondition required: this server (REQUIRE_IF_MATCH=true) takes changes only with If-Match',
  413: 'Body larger than 100 KiB',
  415: 'Body is not application/json',
  429: 'Too many requests at once; retry after Retry-After seconds',
  503: 'A dependency (the database) is unavailable',
};

/** One error a route documents: its status, and its own texts where the defaults below are not what it says. */
export interface ProblemDoc {
  status: number;
  detail?: string;
  /** A 400's field errors; the fields must be ones this route takes. */
  errors?: Record<string, string[]>;
  /** A 412's current version. */
  current_version?: number;
}

/**
 * What the API answers for a status wherever it is raised (the guards, the body
 * parser, the validation pipe). A 404 or a 409 has no default: each route says
 * its own. A 400's default names `page_size`, which only lists take; a route
 * with a body names one of its own fields (test/openapi.spec.ts checks both).
 */
const DEFAULTS: Record<number, Omit<ProblemDoc, 'status'>> = {
  400: {
    detail: 'The request is invalid; see errors for each field.',
    errors: { page_size: ['page_size must be a positive integer'] },
  },
  401: { detail: 'Authentication credentials were not provided or are invalid.' },
  403: { detail: 'This route is for administrators only.' },
  413: { detail: 'Request body is too large' },
  415: { detail: 'Unsupported Media Type' },
  428: { detail: 'This server requires If-Match on every change: send the ETag of the version you read, or "*".' },
  429: { detail: 'Too many requests; slow down and try again after the time in Retry-After.' },
  503: { detail: 'The database is not reachable yet; try again shortly.' },
};

/** The example body of one documented error, built as the exception filter builds the real one. */
export function problemExample(doc: ProblemDoc): ProblemDetails {
  const { detail, errors, current_version } = { ...DEFAULTS[doc.status], ...doc };
  if (!detail) throw new Error(`ApiProblems: status ${doc.status} has no default example; give the route's own detail`);
  return problem(doc.status, detail, { ...(errors ? { errors } : {}), ...(current_version !== undefined ? { current_version } : {}) });
}

/**
 * Documents the problem+json responses a route can give, each with an example
 * of its own status: `ApiProblems(401, { status: 404, detail: 'Patient not found.' })`.
 */
export function ApiProblems(...problems: (number | ProblemDoc)[]) {
  return applyDecorators(
    ApiExtraModels(ProblemDto),
    ...problems.map((entry) => {
      const doc = typeof entry === 'number' ? { status: entry } : entry;
      return ApiResponse({
        status: doc.status,
        description: DESCRIPTIONS[doc.status] ?? 'Error',
        content: {
          [PROBLEM_CONTENT_TYPE]: { schema: { $ref: getSchemaPath(ProblemDto) }, example: problemExample(doc) },
        },
      });
    }),
  );
}

/** A 200 whose body is a cursor page of `item`. */
export function ApiPageResponse(item: Type<unknown>, description: string) {
  return applyDecorators(
    ApiExtraModels(PageDto, item),
    // Pages may be read on a replica: the token of the caller's last write makes this read see it (read-consistency.ts).
    ApiHeader({
      name: 'X-Consistency-Token',
      required: false,
      description:
        'The X-Consistency-Token of your last write\'s answer (sent when the API reads from replicas): this page then shows that write, ' +
        'whichever instance or replica serves it. Without it, a page may be up to REPLICA_MAX_LAG_MS behind the primary.',
      schema: { type: 'string', pattern: '^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$', example: '0/3000148' },
    }),
    ApiOkResponse({
      description: `${description}; follow \`next\` for the rest`,
      schema: {
        allOf: [
          { $ref: getSchemaPath(PageDto) },
          { properties: { results: { type: 'array', items: { $ref: getSchemaPath(item) } } }, required: ['results'] },
        ],
      },
    }),
  );
}

/** 204 No Content, documented. */
export function NoContent() {
  return applyDecorators(HttpCode(204), ApiResponse({ status: 204, description: 'Done; no body' }));
}

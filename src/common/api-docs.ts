import { applyDecorators, HttpCode, type Type } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { PageDto } from './pagination.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';

/** RFC 9457 problem details, documented once and referenced by every error response. */
export class ProblemDto {
  @ApiProperty({ example: 'about:blank' })
  type: string;

  @ApiProperty({ example: 'Bad Request' })
  title: string;

  @ApiProperty({ example: 400 })
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

  @ApiPropertyOptional({ description: 'The X-Request-Id of the request, for support.' })
  request_id?: string;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (validation errors name each field)',
  401: 'Missing, invalid or expired token',
  403: 'Authenticated, but not allowed to do this',
  404: 'Not found (or not yours)',
  409: 'Conflicts with an existing record',
  413: 'Body larger than 100 KiB',
  415: 'Body is not application/json',
  429: 'Too many requests at once; retry after Retry-After seconds',
  503: 'A dependency (the database) is unavailable',
};

/** Documents the problem+json responses a route can give. */
export function ApiProblems(...statuses: number[]) {
  return applyDecorators(
    ApiExtraModels(ProblemDto),
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error',
        content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: getSchemaPath(ProblemDto) } } },
      }),
    ),
  );
}

/** A 200 whose body is a cursor page of `item`. */
export function ApiPageResponse(item: Type<unknown>) {
  return applyDecorators(
    ApiExtraModels(PageDto, item),
    ApiOkResponse({
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

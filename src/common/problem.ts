import { STATUS_CODES } from 'node:http';
import { HttpException } from '@nestjs/common';

/** RFC 9457 problem details, the body of every 4xx and 5xx response. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  /** Field wire name -> messages, for validation errors. */
  errors?: Record<string, string[]>;
  request_id?: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function statusTitle(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/**
 * A 400 whose body names the offending fields. Thrown by the validation pipe
 * and by the request guards; the filter renders `errors` as is.
 */
export class ValidationFailedException extends HttpException {
  constructor(
    readonly errors: Record<string, string[]>,
    detail = 'The request is invalid; see errors for each field.',
  ) {
    super(detail, 400);
  }
}

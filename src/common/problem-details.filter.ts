import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject, Logger, Optional } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DATABASE_RETRY_AFTER, databaseUnavailable, sqlState } from './db-errors.js';
import { PROBLEM_CONTENT_TYPE, type ProblemDetails, statusTitle, ValidationFailedException } from './problem.js';
import { isRefusal, REFUSAL_RECORDER, type RefusalRecorder } from './refusal.js';

/** PostgreSQL errors that a client's value could cause, in case validation missed one. */
const CLIENT_SQLSTATES: Record<string, { status: number; detail: string }> = {
  '23505': { status: 409, detail: 'A record with the same unique value already exists.' },
  '23503': { status: 409, detail: 'The record refers to, or is referred to by, another record.' },
  '22P02': { status: 400, detail: 'A value has an invalid format.' },
  '22003': { status: 400, detail: 'A number is out of range.' },
  '22021': { status: 400, detail: 'A string contains a character that cannot be stored.' },
  '22001': { status: 400, detail: 'A string is too long.' },
  '23514': { status: 400, detail: 'A value breaks a rule of the record.' },
};

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** The methods some route answers for this request's path. */
function allowedMethods(request: FastifyRequest): string[] {
  const url = request.url.split('?')[0];
  return METHODS.filter((method) => request.server.findRoute({ method, url }) !== null);
}

interface FrameworkError {
  statusCode?: number;
  code?: string;
  message?: string;
}

/**
 * The one exception filter: every error becomes application/problem+json.
 * Client errors keep their message; anything unexpected is a generic 500 whose
 * stack goes to the log (with the request id), never to the client.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Exceptions');

  constructor(@Optional() @Inject(REFUSAL_RECORDER) private readonly refusals?: RefusalRecorder) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const request = ctx.getRequest<FastifyRequest>();
    // The one place a guard's refusal is recorded (the guards only throw it, with its reason).
    if (isRefusal(exception)) this.refusals?.refused(exception, request);
    let problem = this.toProblem(exception, request);

    // A path that exists, asked with a method it does not have: 405 and Allow, as DRF answers.
    if (problem.status === 404 && request?.server) {
      const allowed = allowedMethods(request);
      if (allowed.length > 0 && !allowed.includes(request.method)) {
        reply.header('Allow', allowed.join(', '));
        problem = {
          ...problem,
          title: statusTitle(405),
          status: 405,
          detail: `Method ${request.method} is not allowed here; allowed: ${allowed.join(', ')}.`,
        };
      }
    }

    if (problem.status === 401) reply.header('WWW-Authenticate', 'Bearer');
    if (problem.status === 503 && !(exception instanceof HttpException)) reply.header('Retry-After', String(DATABASE_RETRY_AFTER));
    // An HttpException whose response carries retryAfter (seconds), e.g. a 429 or a 503, says when to come back.
    if (exception instanceof HttpException) {
      const retryAfter = (exception.getResponse() as { retryAfter?: unknown })?.retryAfter;
      if (typeof retryAfter === 'number' && retryAfter > 0) reply.header('Retry-After', String(Math.ceil(retryAfter)));
    }
    // Members in RFC 9457's order, extensions last.
    const { type, title, status, detail, errors, instance, request_id } = problem;
    const body = { type, title, status, detail, ...(errors ? { errors } : {}), instance, request_id };
    reply.status(problem.status).header('Content-Type', PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
  }

  private toProblem(exception: unknown, request: FastifyRequest): ProblemDetails {
    const base = { type: 'about:blank', instance: request?.url?.split('?')[0], request_id: String(request?.id ?? '') };

    if (exception instanceof ValidationFailedException) {
      return { ...base, title: statusTitle(400), status: 400, detail: exception.message, errors: exception.errors };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      // A 503 is an expected state (database down, audit trail unwritable): one warning line, no stack.
      if (status === 503) this.logger.warn({ req_id: request?.id, route: request?.routeOptions?.url }, 'service unavailable');
      else if (status >= 500) this.logUnexpected(exception, request);
      return { ...base, title: statusTitle(status), status, detail: this.httpDetail(exception) };
    }
    const state = sqlState(exception);
    if (state) {
      const mapped = CLIENT_SQLSTATES[state];
      if (mapped) return { ...base, title: statusTitle(mapped.status), status: mapped.status, detail: mapped.detail };
    }
    if (databaseUnavailable(exception)) {
      // Expected during an outage or overload: a warning without the stack, and the client told when to retry.
      this.logger.warn({ err: { message: (exception as Error).message }, req_id: request?.id }, 'database unavailable');
      return {
        ...base,
        title: statusTitle(503),
        status: 503,
        detail: 'The database is unavailable or overloaded; try again shortly.',
      };
    }
    const framework = exception as FrameworkError;
    if (
      typeof framework?.statusCode === 'number' &&
      framework.statusCode >= 400 &&
      framework.statusCode < 500 &&
      typeof framework.code === 'string' &&
      framework.code.startsWith('FST_')
    ) {
      // Fastify's own client errors (malformed JSON, 413, 415...): their messages are safe to show.
      return {
        ...base,
        title: statusTitle(framework.statusCode),
        status: framework.statusCode,
        detail: framework.message ?? statusTitle(framework.statusCode),
      };
    }
    this.logUnexpected(exception, request);
    return { ...base, title: statusTitle(500), status: 500, detail: 'An unexpected error occurred.' };
  }

  private httpDetail(exception: HttpException): string {
    const response = exception.getResponse();
    if (typeof response === 'string') return response;
    const message = (response as { message?: unknown }).message;
    if (Array.isArray(message)) return message.join('; ');
    if (typeof message === 'string') return message;
    return exception.message;
  }

  private logUnexpected(exception: unknown, request: FastifyRequest): void {
    const err = exception instanceof Error ? exception : new Error(String(exception));
    // Only the error and where it happened: no bodies, no headers.
    this.logger.error(
      { err: { type: err.name, message: err.message, stack: err.stack }, req_id: request?.id, route: request?.routeOptions?.url },
      'Unhandled error',
    );
  }
}

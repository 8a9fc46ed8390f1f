import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject, Logger, Optional } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clientSqlError, DATABASE_RETRY_AFTER, databaseUnavailable } from './db-errors.js';
import { etagOf, PreconditionFailedException } from './preconditions.js';
import { problem, type ProblemDetails, type ProblemExtras, sendProblem, ValidationFailedException } from './problem.js';
import { isRefusal, REFUSAL_RECORDER, type RefusalRecorder } from './refusal.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** The methods some route answers for this request's path. */
function allowedMethods(request: FastifyRequest): string[] {
  const url = request.url.split('?')[0];
  return METHODS.filter((method) => request.server.findRoute({ method, url }) !== null);
}

/** The members every answer of this request carries: where (without the query string) and its id. */
function extrasOf(request: FastifyRequest | undefined): ProblemExtras {
  return { instance: request?.url?.split('?')[0], request_id: String(request?.id ?? '') };
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
    let body = this.toProblem(exception, request);

    // A path that exists, asked with a method it does not have: 405 and Allow, as DRF answers.
    if (body.status === 404 && request?.server) {
      const allowed = allowedMethods(request);
      if (allowed.length > 0 && !allowed.includes(request.method)) {
        reply.header('Allow', allowed.join(', '));
        body = problem(405, `Method ${request.method} is not allowed here; allowed: ${allowed.join(', ')}.`, extrasOf(request));
      }
    }

    if (body.status === 401) reply.header('WWW-Authenticate', 'Bearer');
    // A 412 names the version the record is at, in the body and as its entity tag.
    if (exception instanceof PreconditionFailedException) reply.header('ETag', etagOf(exception.currentVersion));
    if (body.status === 503 && !(exception instanceof HttpException)) reply.header('Retry-After', String(DATABASE_RETRY_AFTER));
    // An HttpException whose response carries retryAfter (seconds), e.g. a 429 or a 503, says when to come back.
    if (exception instanceof HttpException) {
      const retryAfter = (exception.getResponse() as { retryAfter?: unknown })?.retryAfter;
      if (typeof retryAfter === 'number' && retryAfter > 0) reply.header('Retry-After', String(Math.ceil(retryAfter)));
    }
    sendProblem(reply, body);
  }

  private toProblem(exception: unknown, request: FastifyRequest): ProblemDetails {
    const extras = extrasOf(request);
    if (exception instanceof ValidationFailedException) {
      return problem(400, exception.message, { ...extras, errors: exception.errors });
    }
    if (exception instanceof PreconditionFailedException) {
      return problem(412, exception.message, { ...extras, current_version: exception.currentVersion });
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      // A 503 is an expected state (database down, audit trail unwritable): one warning line, no stack.
      if (status === 503) this.logger.warn({ req_id: request?.id, route: request?.routeOptions?.url }, 'service unavailable');
      else if (status >= 500) this.logUnexpected(exception, request);
      return problem(status, this.httpDetail(exception), extras);
    }
    const client = clientSqlError(exception);
    if (client) return problem(client.status, client.detail, extras);
    if (databaseUnavailable(exception)) {
      // Expected during an outage or overload: a warning without the stack, and the client told when to retry.
      this.logger.warn({ err: { message: (exception as Error).message }, req_id: request?.id }, 'database unavailable');
      return problem(503, 'The database is unavailable or overloaded; try again shortly.', extras);
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
      return problem(framework.statusCode, framework.message || 'The request was refused.', extras);
    }
    this.logUnexpected(exception, request);
    return problem(500, 'An unexpected error occurred.', extras);
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

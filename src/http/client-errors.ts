import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_HEADERS, problem, statusTitle } from '../common/problem.js';
import { sendEarlyProblem } from './early-problem.js';

/** Node's parser errors -> status. */
function clientErrorStatus(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

const CLIENT_ERROR_DETAILS: Record<number, string> = {
  408: 'The request took too long to arrive.',
  431: 'The request headers (or the URL) are too large.',
};

/**
 * Fastify's clientErrorHandler: requests Node's HTTP parser refuses (headers
 * too large, malformed request line, bad Content-Length, too slow) never
 * become requests; they are answered on the socket, still as problem+json
 * with the standard headers, and the connection is closed.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = clientErrorStatus(error.code);
  const id = randomUUID();
  const body = JSON.stringify(
    problem(status, CLIENT_ERROR_DETAILS[status] ?? 'The request could not be parsed as HTTP.', { request_id: id }),
  );
  const headers = { ...PROBLEM_HEADERS, 'Content-Length': String(Buffer.byteLength(body)), 'X-Request-Id': id, Connection: 'close' };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${status} ${statusTitle(status)}\r\n${head.join('')}\r\n${body}`);
}

const FRAMEWORK_ERROR_DETAILS: Record<string, string> = {
  FST_ERR_BAD_URL: 'The URL is not validly percent-encoded.',
  FST_ERR_MAX_PARAM_LENGTH: 'A path segment is too long.',
};

/**
 * Fastify's frameworkErrors: the router refuses a badly encoded URL (400) or
 * an over-long path parameter (414) before any hook or Nest filter runs;
 * answered as problem+json too, without echoing the path back.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  void sendEarlyProblem(request, reply, error.statusCode ?? 500, FRAMEWORK_ERROR_DETAILS[error.code] ?? 'An unexpected error occurred.');
}

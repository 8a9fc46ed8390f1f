import { STATUS_CODES } from 'node:http';
import { HttpException } from '@nestjs/common';

/** RFC 9457 problem details, the body of every 4xx and 5xx response. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** Field wire name (or JSON path) -> messages, for validation errors. */
  errors?: Record<string, string[]>;
  /** A 412's: the record's version now, so a client can tell what it missed. */
  current_version?: number;
  instance?: string;
  request_id?: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The API serves JSON only: nothing may load, nothing may frame it. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/**
 * The headers every problem answer carries, however early it is sent: the
 * exception filter, an answer before routing (bad Host, bad URL) and one
 * written on the raw socket (Node's parser refused the request) alike.
 */
export const PROBLEM_HEADERS = {
  'Content-Type': PROBLEM_CONTENT_TYPE,
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': API_CSP,
} as const;

export function statusTitle(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

export interface ProblemExtras {
  errors?: Record<string, string[]>;
  current_version?: number;
  /** The path (no query string: it can carry a patient's name). */
  instance?: string;
  request_id?: string;
}

/** The one builder of a problem+json body: members in RFC 9457's order, extensions last. */
export function problem(status: number, detail: string, extras: ProblemExtras = {}): ProblemDetails {
  const body: ProblemDetails = { type: 'about:blank', title: statusTitle(status), status, detail };
  if (extras.errors) body.errors = extras.errors;
  if (extras.current_version !== undefined) body.current_version = extras.current_version;
  if (extras.instance !== undefined) body.instance = extras.instance;
  if (extras.request_id !== undefined) body.request_id = extras.request_id;
  return body;
}

/** The part of a Fastify reply sendProblem needs (the filter's spec passes a fake). */
interface ProblemReply {
  status(code: number): ProblemReply;
  header(name: string, value: string): ProblemReply;
  send(payload: string): unknown;
}

/** Sends a problem body with the standard headers (and its request id, when it has one). */
export function sendProblem<R extends ProblemReply>(reply: R, body: ProblemDetails): R {
  reply.status(body.status);
  for (const [name, value] of Object.entries(PROBLEM_HEADERS)) reply.header(name, value);
  if (body.request_id) reply.header('X-Request-Id', body.request_id);
  reply.send(JSON.stringify(body));
  return reply;
}

/**
 * A 400 whose body names the offending fields. Thrown by the validation pipe,
 * the JSON body parser and the request guards; the filter renders `errors` as is.
 */
export class ValidationFailedException extends HttpException {
  constructor(
    readonly errors: Record<string, string[]>,
    detail = 'The request is invalid; see errors for each field.',
  ) {
    super(detail, 400);
  }
}

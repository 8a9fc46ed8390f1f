import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  type ArgumentsHost,
  BadRequestException,
  ConflictException,
  HttpException,
  Logger,
  NotFoundException,
  InternalServerErrorException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { ProblemDetailsFilter } from './problem-details.filter.js';
import { PROBLEM_CONTENT_TYPE, PROBLEM_HEADERS, ValidationFailedException } from './problem.js';

interface FakeReply {
  statusCode?: number;
  headers: Record<string, string>;
  payload?: string;
  status(code: number): FakeReply;
  header(name: string, value: string): FakeReply;
  send(payload: string): FakeReply;
}

/** Runs the filter on `exception` with a fake Fastify request and reply, and returns what it sent. */
function run(exception: unknown, request: object = { id: 'req-1', url: '/api/patients/?search=ada', routeOptions: { url: '/api/patients/' } }) {
  const reply: FakeReply = {
    headers: {},
    status(code) {
      this.statusCode = code;
      return this;
    },
    header(name, value) {
      this.headers[name.toLowerCase()] = value;
      return this;
    },
    send(payload) {
      this.payload = payload;
      return this;
    },
  };
  const host = {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => reply, getNext: () => undefined }),
  } as unknown as ArgumentsHost;
  new ProblemDetailsFilter().catch(exception, host);
  return { status: reply.statusCode, headers: reply.headers, text: reply.payload ?? '', body: JSON.parse(reply.payload ?? 'null') };
}

function queryFailed(code: string, message: string): QueryFailedError {
  const driverError = Object.assign(new Error(message), { code, detail: 'Key (username)=(ada) already exists.' });
  return new QueryFailedError('INSERT INTO "users" ("username") VALUES ($1)', ['ada'], driverError);
}

describe(ProblemDetailsFilter.name, () => {
  let logError: jest.SpiedFunction<Logger['error']>;

  beforeEach(() => {
    logError = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => logError.mockRestore());

  it('renders an HttpException as problem+json, RFC 9457 members first', () => {
    const res = run(new NotFoundException('Patient not found.'));
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe(PROBLEM_CONTENT_TYPE);
    expect(res.body).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'Patient not found.',
      instance: '/api/patients/',
      request_id: 'req-1',
    });
    expect(Object.keys(res.body).slice(0, 4)).toEqual(['type', 'title', 'status', 'detail']);
    expect(logError).not.toHaveBeenCalled();
  });

  it('sends the standard headers with every problem, as the early answers do', () => {
    const res = run(new NotFoundException('Patient not found.'));
    for (const [name, value] of Object.entries(PROBLEM_HEADERS)) expect(res.headers[name.toLowerCase()]).toBe(value);
  });

  it('carries the field errors of a validation failure', () => {
    const res = run(new ValidationFailedException({ name: ['name must be a string'] }, 'Unknown field(s): owner.'));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ title: 'Bad Request', detail: 'Unknown field(s): owner.', errors: { name: ['name must be a string'] } });
  });

  it('has no errors member for other errors', () => {
    expect(run(new ConflictException('Username taken.')).body).not.toHaveProperty('errors');
  });

  it('joins an array message and falls back to the status text', () => {
    expect(run(new BadRequestException(['a is bad', 'b is bad'])).body.detail).toBe('a is bad; b is bad');
    expect(run(new BadRequestException()).body.detail).toBe('Bad Request');
  });

  it('challenges a 401 with WWW-Authenticate: Bearer', () => {
    const res = run(new UnauthorizedException('Token expired.'));
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('passes Retry-After on', () => {
    const res = run(new HttpException({ message: 'Too many attempts.', retryAfter: 30 }, 429));
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('30');
    expect(res.body.detail).toBe('Too many attempts.');
  });

  it('an unexpected error is a generic 500: no message, stack or SQL, but logged with the request id', () => {
    const error = new TypeError("Cannot read properties of undefined (reading 'id') in SELECT * FROM users");
    const res = run(error);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'An unexpected error occurred.',
      instance: '/api/patients/',
      request_id: 'req-1',
    });
    expect(res.text).not.toMatch(/Cannot read|SELECT|TypeError|stack|\.ts:|at /);
    expect(logError).toHaveBeenCalledTimes(1);
    const [logged] = logError.mock.calls[0] as [{ err: { stack: string; message: string }; req_id: string; route: string }];
    expect(logged).toMatchObject({ req_id: 'req-1', route: '/api/patients/', err: { type: 'TypeError', stack: error.stack } });
    // The query string (a search term can be a patient's name) is not logged.
    expect(JSON.stringify(logged)).not.toContain('search=ada');
  });

  it.each([['a string', 'oops'], ['undefined', undefined], ['null', null], ['a plain object', { secret: 'x' }]])(
    'a thrown %s is a generic 500 too',
    (_kind, thrown) => {
      const res = run(thrown);
      expect(res.status).toBe(500);
      expect(res.body.detail).toBe('An unexpected error occurred.');
      expect(res.text).not.toMatch(/oops|secret/);
    },
  );

  it.each([
    ['23505', 409],
    ['23503', 409],
    ['22P02', 400],
    ['22003', 400],
    ['22021', 400],
    ['22001', 400],
    ['23514', 400],
    // Any other data exception (class 22) too: a date out of range, a bad datetime format (issue 11, item 10).
    ['22008', 400],
    ['22007', 400],
    ['22012', 400],
  ])('maps PostgreSQL %s (a client value) to %d without SQL or constraint names', (code, status) => {
    const res = run(queryFailed(code, 'duplicate key value violates unique constraint "uq_users_username"'));
    expect(res.status).toBe(status);
    expect(res.text).not.toMatch(/INSERT|users|uq_|Key \(|ada/);
    expect(logError).not.toHaveBeenCalled();
  });

  it('any other database error is a logged, generic 500', () => {
    const res = run(queryFailed('42P01', 'relation "users" does not exist'));
    expect(res.status).toBe(500);
    expect(res.text).not.toMatch(/relation|users|INSERT/);
    expect(logError).toHaveBeenCalledTimes(1);
  });

  it("keeps Fastify's own client errors (413, 415, malformed JSON)", () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    expect(run(tooLarge).body).toMatchObject({ status: 413, title: 'Payload Too Large', detail: 'Request body is too large' });
    const media = Object.assign(new Error('Unsupported Media Type'), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' });
    expect(run(media).status).toBe(415);
  });

  it('does not trust a statusCode on an error that is not Fastify’s', () => {
    const foreign = Object.assign(new Error('upstream said no: 10.0.0.5'), { statusCode: 400, code: 'ERR_UPSTREAM' });
    const res = run(foreign);
    expect(res.status).toBe(500);
    expect(res.text).not.toMatch(/upstream|10\.0\.0\.5/);
  });

  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' })],
    ['a pool that gave no connection in time', new Error('timeout exceeded when trying to connect')],
    ['a server shutting down (57P01)', queryFailed('57P01', 'terminating connection due to administrator command')],
    ['a statement timeout (57014)', queryFailed('57014', 'canceling statement due to statement timeout')],
    ['too many connections (53300)', queryFailed('53300', 'sorry, too many clients already')],
    ['a dropped connection wrapped by TypeORM', Object.assign(new Error('Query failed'), { cause: new Error('Connection terminated unexpectedly') })],
  ])('the database unavailable (%s) is a 503 with Retry-After, no internals', (_name, error) => {
    const res = run(error);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.body.detail).toBe('The database is unavailable or overloaded; try again shortly.');
    expect(res.text).not.toMatch(/ECONNREFUSED|10\.0\.0\.5|statement|clients|terminat/);
  });

  it('keeps a 503 HttpException as is, logged as one warning without its details', () => {
    const logWarn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const res = run(new ServiceUnavailableException({ status: 'error', error: { database: { status: 'down', message: 'pool ended' } } }));
      expect(res.status).toBe(503);
      expect(res.text).not.toMatch(/pool ended|database/);
      expect(logError).not.toHaveBeenCalled();
      expect(logWarn).toHaveBeenCalledTimes(1);
      expect(JSON.stringify(logWarn.mock.calls)).not.toMatch(/pool ended|stack/);
    } finally {
      logWarn.mockRestore();
    }
  });

  it('logs any other 5xx HttpException as an error', () => {
    const res = run(new InternalServerErrorException('boom'));
    expect(res.status).toBe(500);
    expect(logError).toHaveBeenCalledTimes(1);
  });

  it('copes with a request that has no id or url', () => {
    const res = run(new NotFoundException(), {});
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ type: 'about:blank', status: 404 });
  });
});

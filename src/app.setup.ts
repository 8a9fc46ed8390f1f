import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import fastifyStatic from '@fastify/static';
import helmet from '@fastify/helmet';
import { type INestApplication, Logger as NestLogger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'nestjs-pino';
import { BODY_LIMIT, findUnsafeString, registerJsonParser, unsafeStringError } from './common/json-body.js';
import { PROBLEM_CONTENT_TYPE, statusTitle } from './common/problem.js';
import type { AppConfig } from './config/app-config.js';
import type { EnvironmentVariables } from './config/env.validation.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A strict CSP for the API (it serves JSON only) and the least Swagger UI needs for /docs. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * The staff console (a react-admin app): its own scripts only, no eval; MUI
 * injects <style> elements at runtime, hence 'unsafe-inline' for styles.
 */
const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self' data:; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; " +
  "form-action 'none'";

function contentSecurityPolicy(path: string): string {
  if (path === '/docs' || path.startsWith('/docs/')) return DOCS_CSP;
  if (path === '/admin' || path.startsWith('/admin/')) return CONSOLE_CSP;
  return API_CSP;
}

export const HEADERS_TIMEOUT_MS = 10_000;

/** Fastify options shared by main.ts and the tests. */
export function createFastifyAdapter(config: AppConfig): FastifyAdapter {
  return new FastifyAdapter({
    // request.ip / protocol / host believe X-Forwarded-* only from these proxies.
    trustProxy: trustProxySetting(config.http.trustProxy),
    bodyLimit: BODY_LIMIT,
    routerOptions: { ignoreTrailingSlash: true },
    // One request id for the whole request: taken from X-Request-Id when it
    // looks sane, else new; written back so every reader of the header agrees.
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      req.headers['x-request-id'] = id;
      return id;
    },
    // A client that takes longer than this to send its whole request is cut
    // off instead of holding a socket open.
    requestTimeout: 30_000,
    // The router rejects a badly encoded URL (400) or an over-long path
    // parameter (414) before any hook or Nest filter runs; answer those as
    // problem+json too, without echoing the path back.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const status = error.statusCode ?? 500;
      sendEarlyProblem(request, reply, status, FRAMEWORK_ERROR_DETAILS[error.code] ?? 'An unexpected error occurred.');
    },
    // Requests Node's HTTP parser refuses (headers too large, malformed
    // request line, bad Content-Length) never become requests: answer them
    // on the socket, still as problem+json.
    clientErrorHandler: answerClientError,
  });
}

/** TRUST_PROXY -> Fastify's trustProxy: nothing, a hop count, or proxy addresses/ranges. */
export function trustProxySetting(entries: string[]): false | string[] | ((address: string, hop: number) => boolean) {
  if (entries.length === 0) return false;
  if (entries.length === 1 && /^\d+$/.test(entries[0])) {
    const hops = Number(entries[0]);
    return (_address, hop) => hop < hops;
  }
  return entries;
}

/** Node's parser errors -> status, for clientErrorHandler. */
function clientErrorStatus(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = clientErrorStatus(error.code);
  const id = randomUUID();
  const body = JSON.stringify({
    type: 'about:blank',
    title: statusTitle(status),
    status,
    detail: status === 431 ? 'The request headers (or the URL) are too large.' : 'The request could not be parsed as HTTP.',
    request_id: id,
  });
  socket.end(
    `HTTP/1.1 ${status} ${statusTitle(status)}\r\n` +
      `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nContent-Security-Policy: ${API_CSP}\r\n` +
      `X-Request-Id: ${id}\r\nConnection: close\r\n\r\n${body}`,
  );
}

const FRAMEWORK_ERROR_DETAILS: Record<string, string> = {
  FST_ERR_BAD_URL: 'The URL is not validly percent-encoded.',
  FST_ERR_MAX_PARAM_LENGTH: 'A path segment is too long.',
};

/**
 * A problem+json answer sent before routing (bad Host, bad URL), where
 * neither the Nest filter nor every hook runs: the headers every API answer
 * carries are set here by hand.
 */
function sendEarlyProblem(request: FastifyRequest, reply: FastifyReply, status: number, detail: string): FastifyReply {
  const id = String(request.id);
  return reply
    .status(status)
    .headers({
      'Content-Type': PROBLEM_CONTENT_TYPE,
      'Cache-Control': 'no-store',
      'Content-Security-Policy': API_CSP,
      'X-Content-Type-Options': 'nosniff',
      'X-Request-Id': id,
    })
    .send(JSON.stringify({ type: 'about:blank', title: statusTitle(status), status, detail, request_id: id }));
}

/** NestFactory options shared by main.ts and the tests. */
export const NEST_APP_OPTIONS = { bufferLogs: true, bodyParser: false } as const;

/** Builds the OpenAPI document from the code. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Healthcare API')
    .setDescription(
      'Patients, doctors and who treats whom. Errors are application/problem+json (RFC 9457). ' +
        'Lists are cursor-paginated: follow `next` and `previous`.',
    )
    .setVersion('1.0.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .build();
  return SwaggerModule.createDocument(app, config, {
    // Stable, readable operation ids for generated clients: PatientsController.list -> patientsList.
    operationIdFactory: (controllerKey: string, methodKey: string) => {
      const resource = controllerKey.replace(/Controller$/, '');
      return `${resource.charAt(0).toLowerCase()}${resource.slice(1)}${methodKey.charAt(0).toUpperCase()}${methodKey.slice(1)}`;
    },
  });
}

/**
 * Everything around the routes: body parsing, security headers, Host check,
 * CORS, Swagger. main.ts and the e2e tests both call this, so tests exercise
 * the production pipeline.
 */
export async function configureApp(app: NestFastifyApplication): Promise<void> {
  app.useLogger(app.get(Logger));
  const config = app.get<ConfigService<EnvironmentVariables, true>>(ConfigService);
  const fastify = app.getHttpAdapter().getInstance();

  registerJsonParser(fastify);

  // Registered before the Host check below, so that a rejected Host still gets helmet's headers.
  await app.register(helmet as never, {
    contentSecurityPolicy: false,
    crossOriginEmbedderPolicy: false,
  });

  const allowedHosts = config.getOrThrow('ALLOWED_HOSTS', { infer: true }).map((h) => h.toLowerCase());
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    // The id chosen by genReqId (the caller's when sane, else a new one) goes back on every answer.
    reply.header('X-Request-Id', String(request.id));
    if (!hostAllowed(request.headers.host, allowedHosts)) {
      // Answered here, before routing: the Host is not ours (as Django's DisallowedHost).
      return sendEarlyProblem(request, reply, 400, 'The Host header is not allowed.');
    }
    reply.header('Cache-Control', 'no-store');
  });

  // One access-log line per request, written here rather than by pino-http's
  // middleware, which does not see Fastify's responses finish under Nest 12.
  // Method, route, status and time only: no query string (a search can be a
  // patient's name), no headers, no bodies.
  const accessLog = new NestLogger('HTTP');
  fastify.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const entry = {
      req_id: String(request.id),
      method: request.method,
      path: request.url.split('?')[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    };
    if (reply.statusCode >= 500) accessLog.error(entry, 'request failed');
    else if (reply.statusCode >= 400) accessLog.warn(entry, 'request refused');
    else accessLog.log(entry, 'request completed');
  });

  // Set by Nest's FastifyAdapter as the first step of app.close() (SIGTERM).
  const adapter = app.getHttpAdapter() as unknown as { isShuttingDown?: boolean };
  fastify.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const path = request.url.split('?')[0];
    reply.header('Content-Security-Policy', contentSecurityPolicy(path));
    reply.removeHeader('X-Powered-By');
    // Answers made before the onRequest hooks above (a CORS preflight) get the same headers as the rest.
    reply.header('X-Request-Id', String(request.id));
    reply.header('X-Content-Type-Options', 'nosniff');
    if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', 'no-store');
    // Draining: answer what is in flight, then let the connection go, so the
    // server closes as soon as the last response is out (not at keep-alive timeout).
    if (adapter.isShuttingDown) reply.header('Connection', 'close');
    // A plugin's own plain-text refusal (e.g. @fastify/cors: "Invalid Preflight Request") becomes problem+json too.
    if (reply.statusCode >= 400 && !/json/.test(String(reply.getHeader('content-type') ?? ''))) {
      const status = reply.statusCode;
      reply.header('Content-Type', PROBLEM_CONTENT_TYPE);
      return JSON.stringify({
        type: 'about:blank',
        title: statusTitle(status),
        status,
        detail:
          request.method === 'OPTIONS'
            ? 'Not a valid CORS preflight request: Origin and Access-Control-Request-Method are required.'
            : 'The request was refused.',
        instance: path,
        request_id: String(request.id),
      });
    }
    return payload;
  });

  // Query strings are checked as bodies are: PostgreSQL cannot store NUL or lone surrogates.
  fastify.addHook('preValidation', async (request: FastifyRequest) => {
    const unsafe = findUnsafeString(request.query);
    if (unsafe) throw unsafeStringError(unsafe);
  });

  const origins = config.getOrThrow('CORS_ORIGINS', { infer: true });
  if (origins.length > 0) {
    app.enableCors({
      origin: origins,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
      exposedHeaders: ['X-Request-Id'],
      maxAge: 600,
    });
  }

  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'Healthcare API',
    swaggerOptions: { persistAuthorization: false },
  });

  await serveConsole(app, config.getOrThrow('ADMIN_CONSOLE_DIR', { infer: true }));
  // Signals are handled by main.ts (drain, then close, then exit 0); app.close() runs every shutdown hook.

  // A client that trickles its headers (slowloris) is cut off after this; the
  // whole request has requestTimeout (30 s, set on the adapter).
  const server = app.getHttpServer() as { headersTimeout: number };
  server.headersTimeout = HEADERS_TIMEOUT_MS;
}

/**
 * The staff console at /admin: index.html (never cached, so a new build is
 * picked up at once) and its content-hashed assets (cached for a year). When
 * it has not been built, /admin says how to build it.
 */
async function serveConsole(app: NestFastifyApplication, dir: string): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  const root = resolve(dir);
  if (!existsSync(join(root, 'index.html'))) {
    const notBuilt = async (request: FastifyRequest, reply: FastifyReply) =>
      sendEarlyProblem(request, reply, 404, 'The staff console is not built: run `npm run build`.');
    fastify.get('/admin', notBuilt);
    fastify.get('/admin/*', notBuilt);
    return;
  }
  // The page itself: read once, served for /admin and /admin/ (the app routes after the #).
  const page = readFileSync(join(root, 'index.html'));
  const sendPage = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.header('Content-Type', 'text/html; charset=utf-8').header('Cache-Control', 'no-cache').send(page);
  fastify.get('/admin', sendPage);
  await app.register(fastifyStatic as never, {
    root,
    prefix: '/admin/',
    decorateReply: false,
    index: false,
    // Content-hashed file names: a changed file is a new URL, so assets may be cached for good.
    setHeaders: (reply: FastifyReply, path: string) => {
      reply.header('Cache-Control', path.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}

/** Django's host_validation_re: a name or a bracketed IPv6 address, then an optional numeric port. */
const HOST_HEADER = /^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::\d+)?$/;

/**
 * Django's ALLOWED_HOSTS check: the Host header must be well formed and its
 * name (port and a trailing dot removed) listed; ".example.org" allows the
 * domain and its subdomains; "*" allows any well-formed Host (or none, as
 * an HTTP/1.0 probe sends).
 */
export function hostAllowed(hostHeader: string | undefined, allowed: string[]): boolean {
  if (!hostHeader) return allowed.includes('*');
  // Even with "*": a malformed Host ("[::1]@evil.example", "[::1]x") would end up in
  // the absolute URLs of page links, pointing them elsewhere or failing to parse.
  const match = HOST_HEADER.exec(hostHeader.toLowerCase());
  if (!match) return false;
  const name = match[1].endsWith('.') ? match[1].slice(0, -1) : match[1];
  return allowed.some((a) => a === '*' || a === name || (a.startsWith('.') && (name.endsWith(a) || name === a.slice(1))));
}

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import helmet from '@fastify/helmet';
import type { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'nestjs-pino';
import { BODY_LIMIT, findUnsafeString, registerJsonParser, unsafeStringError } from './common/json-body.js';
import { PROBLEM_CONTENT_TYPE, statusTitle } from './common/problem.js';
import type { EnvironmentVariables } from './config/env.validation.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A strict CSP for the API (it serves JSON only) and the least Swagger UI needs for /docs. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Fastify options shared by main.ts and the tests. */
export function createFastifyAdapter(): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: BODY_LIMIT,
    routerOptions: { ignoreTrailingSlash: true },
    // One request id for the whole request: taken from X-Request-Id when it
    // looks sane, else new; written back so the pino logger picks the same one.
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      req.headers['x-request-id'] = id;
      return id;
    },
    // Slow clients are cut off instead of holding a socket open.
    connectionTimeout: 0,
    requestTimeout: 30_000,
  });
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
  return SwaggerModule.createDocument(app, config);
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

  const allowedHosts = config.get('ALLOWED_HOSTS', { infer: true }).map((h) => h.toLowerCase());
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!hostAllowed(request.headers.host, allowedHosts)) {
      // Answered here, before routing: the Host is not ours (as Django's DisallowedHost).
      reply
        .status(400)
        .header('Content-Type', PROBLEM_CONTENT_TYPE)
        .header('Cache-Control', 'no-store')
        .send(
          JSON.stringify({
            type: 'about:blank',
            title: statusTitle(400),
            status: 400,
            detail: 'The Host header is not allowed.',
            request_id: String(request.id),
          }),
        );
      return reply;
    }
    reply.header('Cache-Control', 'no-store');
  });

  await app.register(helmet as never, {
    contentSecurityPolicy: false,
    crossOriginEmbedderPolicy: false,
  });
  fastify.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0];
    reply.header('Content-Security-Policy', path === '/docs' || path.startsWith('/docs/') ? DOCS_CSP : API_CSP);
    reply.removeHeader('X-Powered-By');
  });

  // Query strings are checked as bodies are: PostgreSQL cannot store NUL or lone surrogates.
  fastify.addHook('preValidation', async (request: FastifyRequest) => {
    const unsafe = findUnsafeString(request.query);
    if (unsafe) throw unsafeStringError(unsafe);
  });

  const origins = config.get('CORS_ORIGINS', { infer: true });
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

  app.enableShutdownHooks();
}

/** Django's ALLOWED_HOSTS check: the Host header (port removed) must be listed; "*" allows any. */
export function hostAllowed(hostHeader: string | undefined, allowed: string[]): boolean {
  if (allowed.includes('*')) return true;
  if (!hostHeader) return false;
  const host = hostHeader.toLowerCase();
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return allowed.some((a) => a === name || (a.startsWith('.') && (name.endsWith(a) || name === a.slice(1))));
}

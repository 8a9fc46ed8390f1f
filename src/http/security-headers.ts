import helmet from '@fastify/helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_CSP, PROBLEM_CONTENT_TYPE, PROBLEM_HEADERS, problem } from '../common/problem.js';

/** The least Swagger UI needs for /docs. */
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

export function contentSecurityPolicy(path: string): string {
  if (path === '/docs' || path.startsWith('/docs/')) return DOCS_CSP;
  if (path === '/admin' || path.startsWith('/admin/')) return CONSOLE_CSP;
  return API_CSP;
}

/**
 * helmet's headers, then on every answer (whoever made it: a route, the
 * filter, a plugin, a CORS preflight) the same rewriting: the path's CSP, no
 * X-Powered-By, the request id, nosniff, no-store unless the answer chose
 * its caching, Connection: close while draining, and a plugin's plain-text
 * refusal turned into problem+json. Registered before the Host check, so a
 * refused Host gets helmet's headers too.
 */
export async function registerSecurityHeaders(app: NestFastifyApplication): Promise<void> {
  await app.register(helmet as never, { contentSecurityPolicy: false, crossOriginEmbedderPolicy: false });

  // Set by Nest's FastifyAdapter as the first step of app.close() (SIGTERM).
  const adapter = app.getHttpAdapter() as unknown as { isShuttingDown?: boolean };
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      const path = request.url.split('?')[0];
      reply.header('Content-Security-Policy', contentSecurityPolicy(path));
      reply.removeHeader('X-Powered-By');
      reply.header('X-Request-Id', String(request.id));
      reply.header('X-Content-Type-Options', PROBLEM_HEADERS['X-Content-Type-Options']);
      if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', PROBLEM_HEADERS['Cache-Control']);
      // Draining: answer what is in flight, then let the connection go, so the
      // server closes as soon as the last response is out (not at keep-alive timeout).
      if (adapter.isShuttingDown) reply.header('Connection', 'close');
      // A plugin's own plain-text refusal (e.g. @fastify/cors: "Invalid Preflight Request") becomes problem+json too.
      if (reply.statusCode >= 400 && !/json/.test(String(reply.getHeader('content-type') ?? ''))) {
        reply.header('Content-Type', PROBLEM_CONTENT_TYPE);
        const detail =
          request.method === 'OPTIONS'
            ? 'Not a valid CORS preflight request: Origin and Access-Control-Request-Method are required.'
            : 'The request was refused.';
        return JSON.stringify(problem(reply.statusCode, detail, { instance: path, request_id: String(request.id) }));
      }
      return payload;
    });
}

import type { Server } from 'node:http';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from './config/app-config.js';
import { AppLogger } from './config/logger.js';
import { registerAccessLog } from './http/access-log.js';
import { closeConnectionsOnStop } from './http/connections.js';
import { enableCors } from './http/cors.js';
import { registerHostCheck } from './http/host-check.js';
import { registerJsonParser } from './http/json-body.js';
import { registerNotModified } from './http/not-modified.js';
import { serveOpenApi } from './http/openapi.js';
import { registerRequestId } from './http/request-id.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import { serveConsole } from './http/static-console.js';
import { limitSlowClients } from './http/timeouts.js';
import { registerQueryCheck } from './http/unsafe-strings.js';

// The entry points and tests build the app from these; each lives with its concern in src/http/.
export { createFastifyAdapter, NEST_APP_OPTIONS, trustProxySetting } from './http/adapter.js';
export { hostAllowed } from './http/host-check.js';
export { buildOpenApiDocument } from './http/openapi.js';
export { HEADERS_TIMEOUT_MS } from './http/timeouts.js';

/** What the edge needs from the configuration. */
export interface EdgeConfig {
  allowedHosts: string[];
  corsOrigins: string[];
  consoleDir: string;
}

function edgeConfigOf(app: NestFastifyApplication): EdgeConfig {
  const { http } = app.get(AppConfig);
  return { allowedHosts: http.allowedHosts, corsOrigins: http.corsOrigins, consoleDir: http.adminConsoleDir };
}

/**
 * Everything around the routes, in the order a request meets it (medplum's
 * initApp is the model). main.ts and the e2e tests both call this, so tests
 * exercise the production pipeline. Signals are main.ts's (drain, close, exit).
 */
export async function configureApp(app: NestFastifyApplication, config: EdgeConfig = edgeConfigOf(app)): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  app.useLogger(app.get(AppLogger));
  registerRequestId(fastify);
  registerJsonParser(fastify);
  registerQueryCheck(fastify);
  await registerSecurityHeaders(app);
  registerHostCheck(fastify, config.allowedHosts);
  registerAccessLog(fastify);
  registerNotModified(fastify);
  enableCors(app, config.corsOrigins);
  serveOpenApi(app);
  await serveConsole(app, config.consoleDir);
  limitSlowClients(app.getHttpServer() as Server);
  closeConnectionsOnStop(fastify, app.getHttpServer() as Server);
}

import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { AppConfig } from '../config/app-config.js';
import { answerClientError, answerFrameworkError } from './client-errors.js';
import { BODY_LIMIT } from './json-body.js';
import { requestIdOf } from './request-id.js';
import { REQUEST_TIMEOUT_MS } from './timeouts.js';

/** NestFactory options shared by main.ts and the tests: pino takes over the logs; our JSON parser is the only one. */
export const NEST_APP_OPTIONS = { bufferLogs: true, bodyParser: false } as const;

/** Fastify options shared by main.ts and the tests. */
export function createFastifyAdapter(config: Pick<AppConfig, 'http'>): FastifyAdapter {
  return new FastifyAdapter({
    // request.ip / protocol / host believe X-Forwarded-* only from these proxies.
    trustProxy: trustProxySetting(config.http.trustProxy),
    bodyLimit: BODY_LIMIT,
    routerOptions: { ignoreTrailingSlash: true },
    genReqId: requestIdOf,
    // A client that takes longer than this to send its whole request is cut off instead of holding a socket open.
    requestTimeout: REQUEST_TIMEOUT_MS,
    frameworkErrors: answerFrameworkError,
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

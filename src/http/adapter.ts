import { FastifyAdapter } from '@nestjs/platform-fastify';
import { validateEnv } from '../config/env.validation.js';
import { answerClientError, answerFrameworkError } from './client-errors.js';
import { BODY_LIMIT } from './json-body.js';
import { requestIdOf } from './request-id.js';
import { REQUEST_TIMEOUT_MS } from './timeouts.js';

/** NestFactory options shared by main.ts and the tests: pino takes over the logs; our JSON parser is the only one. */
export const NEST_APP_OPTIONS = { bufferLogs: true, bodyParser: false } as const;

export interface AdapterOptions {
  /** TRUST_PROXY, as validated; read from the environment when not given. */
  trustProxy?: string[];
}

/** Fastify options shared by main.ts and the tests. */
export function createFastifyAdapter(options: AdapterOptions = {}): FastifyAdapter {
  return new FastifyAdapter({
    // request.ip / protocol / host believe X-Forwarded-* only from these proxies.
    trustProxy: trustProxySetting(options.trustProxy ?? validateEnv(process.env).TRUST_PROXY),
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

import { Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * One access-log line per request, written here rather than by pino-http's
 * middleware, which does not see Fastify's responses finish under Nest 12.
 * Method, route, status and time only: no query string (a search can be a
 * patient's name), no headers, no bodies.
 */
export function registerAccessLog(fastify: FastifyInstance): void {
  const log = new Logger('HTTP');
  fastify.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const entry = {
      req_id: String(request.id),
      method: request.method,
      path: request.url.split('?')[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    };
    if (reply.statusCode >= 500) log.error(entry, 'request failed');
    else if (reply.statusCode >= 400) log.warn(entry, 'request refused');
    else log.log(entry, 'request completed');
  });
}

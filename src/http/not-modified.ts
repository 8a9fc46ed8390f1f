import type { FastifyInstance } from 'fastify';
import { isNotModified } from '../common/versioned.js';

/**
 * A GET or HEAD that VersionedInterceptor marked (its If-None-Match names the
 * record's current version) leaves as 304 Not Modified: its ETag and the
 * standard headers stay, the body and its Content-Type and Content-Length go
 * (RFC 9110, section 15.4.5). Done at send time, because Nest sets a route's
 * status itself after the handler returns.
 */
export function registerNotModified(fastify: FastifyInstance): void {
  fastify.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode !== 200 || !isNotModified(request)) return payload;
    reply.code(304);
    reply.removeHeader('content-type');
    reply.removeHeader('content-length');
    // HEAD: Fastify's own HEAD hook drops the body and sets Content-Length to the 200's size, which a 304 may carry.
    return request.method === 'HEAD' ? payload : null;
  });
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import { problem, sendProblem } from '../common/problem.js';

/**
 * A problem+json answer sent before routing (bad Host, bad URL, the console
 * not built), where the Nest filter does not run: the standard headers come
 * with sendProblem. The path is not echoed: it may be what was refused.
 */
export function sendEarlyProblem(request: FastifyRequest, reply: FastifyReply, status: number, detail: string): FastifyReply {
  return sendProblem(reply, problem(status, detail, { request_id: String(request.id) }));
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendEarlyProblem } from './early-problem.js';

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

/** A request target in absolute form (RFC 9112 3.2.2): scheme, authority, then the origin-form rest. */
const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)(.*)$/i;

/**
 * The request target as origin-form (`/path?query`), or undefined when it is
 * in absolute form naming an authority other than the (allowed) Host. The
 * router already ignores the authority of an absolute-form target; Host then
 * stays the only source of this server's name (page links are built from it).
 */
export function originForm(target: string, host: string | undefined): string | undefined {
  if (target.startsWith('/')) return target;
  const match = ABSOLUTE_FORM.exec(target);
  if (!match) return target;
  const [, authority, rest] = match;
  if (!host || authority.toLowerCase() !== host.toLowerCase()) return undefined;
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/**
 * Answered before routing, as Django's DisallowedHost: a Host that is not
 * ours, or an absolute-form target naming another host, is a 400.
 */
export function registerHostCheck(fastify: FastifyInstance, allowedHosts: string[]): void {
  const allowed = allowedHosts.map((h) => h.toLowerCase());
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const host = request.headers.host;
    if (!hostAllowed(host, allowed)) return sendEarlyProblem(request, reply, 400, 'The Host header is not allowed.');
    const target = originForm(request.raw.url ?? '/', host);
    if (target === undefined) return sendEarlyProblem(request, reply, 400, 'The request target names a host that is not allowed.');
    // Everything after this hook (links, logs, problem instances) reads the origin form.
    request.raw.url = target;
  });
}

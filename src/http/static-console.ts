import { existsSync, readFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendEarlyProblem } from './early-problem.js';

/**
 * The staff console at /admin: index.html (never cached, so a new build is
 * picked up at once) and its content-hashed assets (cached for a year). When
 * it has not been built, /admin says how to build it.
 */
export async function serveConsole(app: NestFastifyApplication, dir: string): Promise<void> {
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

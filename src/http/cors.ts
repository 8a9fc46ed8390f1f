import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/** Cross-origin access for the listed origins only (none by default); preflights cached for 10 minutes. */
export function enableCors(app: NestFastifyApplication, origins: string[]): void {
  if (origins.length === 0) return;
  app.enableCors({
    origin: origins,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    // Every request header the API reads, and every response header a client acts on: without them a browser
    // on another origin could not send If-Match or Idempotency-Key, nor read an ETag, Location or Retry-After.
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'If-Match', 'If-None-Match', 'Idempotency-Key', 'X-Consistency-Token'],
    exposedHeaders: ['X-Request-Id', 'ETag', 'Location', 'Retry-After', 'Idempotent-Replayed', 'X-Consistency-Token'],
    maxAge: 600,
  });
}

import type { Params } from 'nestjs-pino';

/**
 * Structured JSON logs through pino. Request ids come from Fastify (see
 * createFastifyAdapter); the access log is a Fastify hook (see configureApp),
 * so pino-http's own request logging is off. Nothing here ever serialises a
 * request: no query strings, headers, bodies or tokens reach the log.
 */
export function loggerOptions(level: string, nodeEnv: string): Params {
  const options = {
    level: nodeEnv === 'test' && level === 'info' ? 'silent' : level,
    autoLogging: false,
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({
        id: req.id,
        method: req.method,
        path: req.url.split('?')[0],
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    redact: {
      paths: ['req.headers', 'res.headers', '*.password', '*.token', '*.refresh', '*.access', '*.authorization'],
      remove: true,
    },
  };
  // Tests read the log through process.stdout (pino's default destination
  // writes to the file descriptor directly, past any spy).
  return { pinoHttp: nodeEnv === 'test' ? [options, process.stdout] : options };
}

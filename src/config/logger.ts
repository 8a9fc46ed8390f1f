import type { Params } from 'nestjs-pino';
import type { LogFn, Logger } from 'pino';

/**
 * Nest's own start-up chatter (one line per module and per route, 69 lines
 * here): useful when wiring is in doubt, noise otherwise. At debug.
 */
const WIRING_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestApplication']);

function isWiring(first: unknown): boolean {
  const context = (first as { context?: unknown } | null)?.context;
  return typeof context === 'string' && WIRING_CONTEXTS.has(context);
}

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
    hooks: {
      logMethod(this: Logger, args: Parameters<LogFn>, method: LogFn, level: number) {
        // 30 is info: Nest's log(); the same line at debug is written only when LOG_LEVEL asks for it.
        if (level === 30 && isWiring(args[0])) return (this.debug as LogFn)(...args);
        return method.apply(this, args);
      },
    },
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

import { type DynamicModule, Inject, Injectable, type LoggerService, Module } from '@nestjs/common';
import { type DestinationStream, type Level, type LogFn, type Logger, pino } from 'pino';

/**
 * Nest's own start-up chatter (one line per module and per route, 69 lines
 * here): useful when wiring is in doubt, noise otherwise. At debug.
 */
const WIRING_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestApplication']);

function isWiring(first: unknown): boolean {
  const context = (first as { context?: unknown } | null)?.context;
  return typeof context === 'string' && WIRING_CONTEXTS.has(context);
}

/** The pino instance behind the app's logger (one per app). */
export const PINO = Symbol('PINO');

/**
 * Structured JSON logs through pino, one line per event. Request ids are
 * written by the code that logs (`req_id`); the access log is a Fastify hook
 * (src/http/access-log.ts). Nothing here ever serialises a request: no query
 * strings, headers, bodies or tokens reach the log, and the redaction below is
 * a second line of defence. Readable logs in development come from piping
 * this output through pino-pretty (`npm run start:dev`), so what a server
 * writes is the same JSON everywhere.
 */
export function createPino(level: string, nodeEnv: string, destination?: DestinationStream): Logger {
  const options = {
    level: nodeEnv === 'test' && level === 'info' ? 'silent' : level,
    hooks: {
      logMethod(this: Logger, args: Parameters<LogFn>, method: LogFn, level: number) {
        // 30 is info: Nest's log(); the same line at debug is written only when LOG_LEVEL asks for it.
        if (level === 30 && isWiring(args[0])) return (this.debug as LogFn)(...args);
        return method.apply(this, args);
      },
    },
    redact: {
      paths: ['req.headers', 'res.headers', '*.password', '*.token', '*.refresh', '*.access', '*.authorization'],
      remove: true,
    },
  };
  if (destination) return pino(options, destination);
  // Tests read the log through process.stdout (pino's default destination
  // writes to the file descriptor directly, past any spy).
  return nodeEnv === 'test' ? pino(options, process.stdout) : pino(options);
}

/**
 * Nest's LoggerService on pino. Nest calls `log(message, ...params, context)`;
 * the app calls `logger.warn({ err, req_id }, 'text')`. Both become one pino
 * line: the object's fields, `context`, and the message. An Error becomes
 * `err`; Nest's exception handlers pass a stack string as their one extra
 * parameter, which is kept as `err.stack`.
 */
@Injectable()
export class AppLogger implements LoggerService {
  constructor(@Inject(PINO) private readonly pino: Logger) {}

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    const fields: Record<string, unknown> = {};
    let rest = params;
    if (params.length > 0) {
      fields.context = params[params.length - 1];
      rest = params.slice(0, -1);
    }
    const log = this.pino[level].bind(this.pino) as (obj: object, msg?: string, ...args: unknown[]) => void;
    if (message instanceof Error) {
      fields.err = message;
      log(fields, message.message, ...rest);
    } else if (typeof message === 'object' && message !== null) {
      log(Object.assign(fields, message), ...(rest as [string?]));
    } else if (level === 'error' && rest.length === 1 && typeof rest[0] === 'string' && /\n\s*at /.test(rest[0])) {
      const err = new Error(String(message));
      err.stack = rest[0];
      fields.err = err;
      log(fields, String(message));
    } else {
      log(fields, String(message), ...rest);
    }
  }
}

/** Provides AppLogger (and its pino instance) to the whole app; main.ts and the tests pass it to `app.useLogger`. */
@Module({})
export class LoggerModule {
  static forRoot(level: string, nodeEnv: string): DynamicModule {
    return {
      module: LoggerModule,
      global: true,
      providers: [{ provide: PINO, useFactory: () => createPino(level, nodeEnv) }, AppLogger],
      exports: [PINO, AppLogger],
    };
  }
}

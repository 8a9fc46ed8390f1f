import 'reflect-metadata';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConfigService } from '@nestjs/config';
import { configureApp, createFastifyAdapter, NEST_APP_OPTIONS } from './app.setup.js';
import { loadDotEnv } from './config/dotenv.js';
import { type EnvironmentVariables, validateEnv } from './config/env.validation.js';
import { setDatabaseUse } from './database/database-startup.js';
import { DrainService } from './health/drain.service.js';

async function bootstrap(): Promise<void> {
  // Checked here first, so a bad configuration stops the app with one line, not a stack trace.
  loadDotEnv();
  validateEnv(process.env);
  // Bounded queries; if PostgreSQL is down, listen anyway (503 on data routes) and connect when it comes up.
  setDatabaseUse('server');
  const { AppModule } = await import('./app.module.js');
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, createFastifyAdapter(), {
    ...NEST_APP_OPTIONS,
    // Until pino takes over (configureApp), and for a failed start: JSON lines too.
    logger: new ConsoleLogger({ json: true }),
    abortOnError: false,
  });
  await configureApp(app);
  const config = app.get<ConfigService<EnvironmentVariables, true>>(ConfigService);
  const port = config.getOrThrow('PORT', { infer: true });
  const host = config.getOrThrow('HOST', { infer: true });
  await app.listen(port, host);
  const logger = new Logger('Bootstrap');
  logger.log(`Healthcare API on http://${host === '0.0.0.0' ? 'localhost' : host}:${port} (docs at /docs)`);

  // Graceful stop: readiness turns 503 at once, requests keep being served for
  // SHUTDOWN_DRAIN_SECONDS (so a load balancer can take the instance out), then
  // the listener closes, the requests in flight finish, the pool closes, exit 0.
  const drainSeconds = config.getOrThrow('SHUTDOWN_DRAIN_SECONDS', { infer: true });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    app.get(DrainService).start();
    logger.log(`${signal}: draining for ${drainSeconds} s, then closing`);
    setTimeout(() => {
      app.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: { message: (error as Error).message } }, 'error while closing');
          process.exit(1);
        },
      );
    }, drainSeconds * 1000);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

bootstrap().catch((error: unknown) => {
  // One line, no stack: e.g. "Invalid configuration: JWT_SECRET is required when NODE_ENV=production".
  process.stderr.write(`Failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

import 'reflect-metadata';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConfigService } from '@nestjs/config';
import { configureApp, createFastifyAdapter, NEST_APP_OPTIONS } from './app.setup.js';
import { loadDotEnv } from './config/dotenv.js';
import { type EnvironmentVariables, validateEnv } from './config/env.validation.js';

async function bootstrap(): Promise<void> {
  // Checked here first, so a bad configuration stops the app with one line, not a stack trace.
  loadDotEnv();
  validateEnv(process.env);
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
  new Logger('Bootstrap').log(`Healthcare API on http://${host === '0.0.0.0' ? 'localhost' : host}:${port} (docs at /docs)`);
}

bootstrap().catch((error: unknown) => {
  // One line, no stack: e.g. "Invalid configuration: JWT_SECRET is required when NODE_ENV=production".
  process.stderr.write(`Failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

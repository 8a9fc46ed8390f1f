import 'reflect-metadata';
import type { Server } from 'node:http';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { isClusterPrimary, superviseWorkers } from './cluster.js';
import { configureApp, createFastifyAdapter, NEST_APP_OPTIONS } from './app.setup.js';
import { type AppConfig, validate } from './config/app-config.js';
import { readEnvironment } from './config/dotenv.js';
import { startupSummary } from './config/startup-summary.js';
import { DrainService } from './health/drain.service.js';
import { ShutdownProgress } from './health/shutdown-progress.js';

async function main(): Promise<void> {
  // Validated once, here: a bad configuration stops the app with one line, not a stack trace.
  const config = validate(readEnvironment());
  // CLUSTER_WORKERS > 1: this process only runs the workers; each of them comes through here again and serves.
  if (config.http.clusterWorkers > 1 && isClusterPrimary()) {
    superviseWorkers(config.http.clusterWorkers, (line) => new Logger('Cluster').log(line));
    return;
  }
  await bootstrap(config);
}

async function bootstrap(config: AppConfig): Promise<void> {
  // A server: bounded queries; if PostgreSQL is down, listen anyway (503 on data routes) and connect when it comes up.
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, { use: 'server' }), createFastifyAdapter(config), {
    ...NEST_APP_OPTIONS,
    // Until pino takes over (configureApp), and for a failed start: JSON lines too.
    logger: new ConsoleLogger({ json: true }),
    abortOnError: false,
  });
  await configureApp(app);
  const { port, host, shutdownDrainSeconds, shutdownTimeoutSeconds } = config.http;
  await app.listen(port, host);
  const logger = new Logger('Bootstrap');
  for (const line of startupSummary(config)) logger.log(line);

  // Graceful stop: readiness turns 503 at once, requests keep being served for
  // SHUTDOWN_DRAIN_SECONDS (so a load balancer can take the instance out), then
  // the listener closes, the requests in flight finish, the pool closes, exit 0.
  // A close that takes more than SHUTDOWN_TIMEOUT_SECONDS logs what it is
  // still waiting for (phase, connections, pool) and exits 1.
  // A second signal (Ctrl-C reaches both npm and this process, and npm forwards
  // its own) changes nothing: the stop already under way finishes.
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    app.get(DrainService).start();
    logger.log(`${signal}: draining for ${shutdownDrainSeconds} s, then closing`);
    setTimeout(() => {
      const deadline = setTimeout(() => {
        const report = app.get(ShutdownProgress).report(app.getHttpServer() as Server);
        logger.error({ shutdown: report }, `still closing ${shutdownTimeoutSeconds} s after the drain; exiting`);
        process.exit(1);
      }, shutdownTimeoutSeconds * 1000);
      deadline.unref();
      app.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: { message: (error as Error).message } }, 'error while closing');
          process.exit(1);
        },
      );
    }, shutdownDrainSeconds * 1000);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  // One line, no stack: e.g. "Invalid configuration: JWT_SECRET is required when NODE_ENV=production".
  process.stderr.write(`Failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

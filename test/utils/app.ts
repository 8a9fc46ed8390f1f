import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module.js';
import { configureApp, createFastifyAdapter, NEST_APP_OPTIONS } from '../../src/app.setup.js';
import { type AppConfig, validate } from '../../src/config/app-config.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { HttpClient } from './http.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

/** The settings every test app starts from; a test's overrides go on top. */
export const TEST_SETTINGS: Readonly<Record<string, string | undefined>> = {
  NODE_ENV: 'test',
  JWT_SECRET: TEST_JWT_SECRET,
  // The audit chain's key, as production sets it (else each test app would make a random one).
  AUDIT_CHAIN_KEY: 'test-audit-chain-key-that-is-long-enough-0123456789',
  LOG_LEVEL: 'silent',
  DB_MIGRATE_ON_START: 'true',
  // Suites register and log in far more often than a person: the limits are
  // lifted (the guard still runs); test/throttling.e2e.spec.ts sets its own.
  AUTH_RATE_LIMIT: '1000000',
  USER_RATE_LIMIT: '1000000',
  ANON_RATE_LIMIT: '1000000',
  LOGIN_FAILURE_LIMIT: '1000000',
  LOGIN_FAILURE_HOURLY_LIMIT: '1000000',
  // Reuse of a spent refresh token ends its session at once, as the suites
  // written before the grace expect; test/refresh-grace.e2e.spec.ts sets its own.
  JWT_REFRESH_GRACE: '0',
};

export interface TestApp {
  app: NestFastifyApplication;
  http: HttpClient;
  baseUrl: string;
  dataSource: DataSource;
  db: TestDatabase;
  config: AppConfig;
  close(): Promise<void>;
}

/**
 * Boots the real AppModule with the production pipeline (global guard, pipe,
 * filter, body parser, headers) on a fresh database of its own, listening on
 * a random port, so tests speak real HTTP to it. `env` holds overrides of
 * TEST_SETTINGS, as environment variables would be written (undefined: unset);
 * they are validated into the config object the app is built from, as
 * main.ts does. process.env is neither read nor written.
 */
export async function createTestApp(env: Record<string, string | undefined> = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const config = validate({ ...TEST_SETTINGS, ...db.env, ...env });

  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(createFastifyAdapter(config), NEST_APP_OPTIONS);
  await configureApp(app);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const baseUrl = `http://127.0.0.1:${address.port}`;
  return {
    app,
    http: new HttpClient(baseUrl),
    baseUrl,
    dataSource: app.get(DataSource),
    db,
    config,
    close: async () => {
      await app.close();
      await db.drop();
    },
  };
}

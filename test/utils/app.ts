import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from './database.js';
import { HttpClient } from './http.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

let appCount = 0;

export interface TestApp {
  app: NestFastifyApplication;
  http: HttpClient;
  baseUrl: string;
  dataSource: DataSource;
  db: TestDatabase;
  close(): Promise<void>;
}

/**
 * Boots the real AppModule with the production pipeline (global guard, pipe,
 * filter, body parser, headers) on a fresh database of its own, listening on
 * a random port, so tests speak real HTTP to it.
 */
export async function createTestApp(env: Record<string, string | undefined> = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const settings: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    DB_MIGRATE_ON_START: 'true',
    // Suites register and log in far more often than a person: the limits are
    // lifted (the guard still runs); test/throttling.e2e.spec.ts sets its own.
    AUTH_RATE_LIMIT: '1000000',
    USER_RATE_LIMIT: '1000000',
    ANON_RATE_LIMIT: '1000000',
    LOGIN_FAILURE_LIMIT: '1000000',
    LOGIN_FAILURE_HOURLY_LIMIT: '1000000',
    THROTTLE_ENABLED: undefined,
    TRUST_PROXY: undefined,
    REDIS_URL: undefined,
    ...db.env,
    ...env,
  };
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  // Imported only now, and anew for every app (the query makes a new module
  // instance): ConfigModule.forRoot validates process.env when the module is
  // evaluated, so a second app in one file gets its own settings.
  const { AppModule } = (await import(`../../src/app.module.js?app=${++appCount}`)) as typeof import('../../src/app.module.js');
  const { configureApp, createFastifyAdapter, NEST_APP_OPTIONS } = await import('../../src/app.setup.js');

  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(createFastifyAdapter(), NEST_APP_OPTIONS);
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
    close: async () => {
      await app.close();
      await db.drop();
    },
  };
}

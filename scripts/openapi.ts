/**
 * Writes openapi.json at the repository root from the code (npm run openapi).
 * test/openapi.spec.ts fails when the committed file is stale.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

// An in-memory database and a throwaway key: generating the document touches nothing on disk.
delete process.env.DATABASE_URL;
delete process.env.DB_NAME;
process.env.PGLITE_DATA_DIR = 'memory://';
process.env.JWT_SECRET = randomBytes(32).toString('hex');
process.env.LOG_LEVEL = 'silent';

const { AppModule } = await import('../src/app.module.js');
const { buildOpenApiDocument, createFastifyAdapter, NEST_APP_OPTIONS } = await import('../src/app.setup.js');

const app = await NestFactory.create<NestFastifyApplication>(AppModule, createFastifyAdapter(), {
  ...NEST_APP_OPTIONS,
  logger: false,
});
const document = buildOpenApiDocument(app);
await app.close();
writeFileSync('openapi.json', `${JSON.stringify(document, null, 2)}\n`);
process.stdout.write(`openapi.json written: ${Object.keys(document.paths).length} paths\n`);

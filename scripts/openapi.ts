/**
 * Writes openapi.json at the repository root from the code (npm run openapi).
 * test/openapi.spec.ts fails when the committed file is stale.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from '../src/app.module.js';
import { buildOpenApiDocument, createFastifyAdapter, NEST_APP_OPTIONS } from '../src/app.setup.js';
import { validate } from '../src/config/app-config.js';

// Defaults only (not the developer's .env), an in-memory database and a throwaway key: generating the
// document touches nothing on disk.
const config = validate({ PGLITE_DATA_DIR: 'memory://', JWT_SECRET: randomBytes(32).toString('hex'), LOG_LEVEL: 'silent' });

const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), createFastifyAdapter(config), {
  ...NEST_APP_OPTIONS,
  logger: false,
});
const document = buildOpenApiDocument(app);
await app.close();
writeFileSync('openapi.json', `${JSON.stringify(document, null, 2)}\n`);
process.stdout.write(`openapi.json written: ${Object.keys(document.paths).length} paths\n`);

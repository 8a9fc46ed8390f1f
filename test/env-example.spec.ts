import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from '../src/app.module.js';
import { configureApp, createFastifyAdapter, NEST_APP_OPTIONS } from '../src/app.setup.js';
import { validate } from '../src/config/app-config.js';
import { PasswordHasher } from '../src/auth/password-hasher.js';
import { ENV_VARIABLE_NAMES, EnvironmentVariables, validateEnv } from '../src/config/env.validation.js';

function parseExample(): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of readFileSync('.env.example', 'utf8').split('\n')) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) vars.set(match[1], match[2]);
  }
  return vars;
}

describe('.env.example', () => {
  it('lists exactly the variables the app reads', () => {
    expect([...parseExample().keys()].sort()).toEqual([...ENV_VARIABLE_NAMES].sort());
  });

  it('shows each default the app applies', () => {
    const defaults = new EnvironmentVariables() as unknown as Record<string, unknown>;
    for (const [name, shown] of parseExample()) {
      const value = defaults[name];
      if (value === undefined) expect(shown).toBe('');
      else expect(shown).toBe(Array.isArray(value) ? value.join(',') : String(value));
    }
  });

  it('is itself a valid configuration', () => {
    expect(() => validateEnv(Object.fromEntries(parseExample()))).not.toThrow();
  });

  it('starts the API as copied, empty values included (GET /health 200), and the password hasher gets its default concurrency', async () => {
    // As `cp .env.example .env`: every value as written; only the port and the data directory move to a
    // place of this test's own, and the log is quiet.
    const dir = mkdtempSync(join(tmpdir(), 'hc-env-example-'));
    const config = validate({ ...Object.fromEntries(parseExample()), PORT: '0', PGLITE_DATA_DIR: join(dir, 'pglite'), LOG_LEVEL: 'silent' });
    const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), createFastifyAdapter(config), {
      ...NEST_APP_OPTIONS,
      logger: false,
    });
    try {
      await configureApp(app);
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as { port: number };
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      // The empty PASSWORD_HASH_CONCURRENCY= means the default, not "" (which stopped the first login).
      expect(app.get(PasswordHasher).concurrency).toBeGreaterThanOrEqual(1);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

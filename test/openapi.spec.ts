import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { OpenAPIObject } from '@nestjs/swagger';
import { buildOpenApiDocument } from '../src/app.setup.js';
import { createTestApp, type TestApp } from './utils/app.js';

/** Every object key a client sees on the wire: schema properties, parameters, required lists. */
function wireNames(doc: OpenAPIObject): string[] {
  const names: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    if (obj.properties && typeof obj.properties === 'object') names.push(...Object.keys(obj.properties));
    if (Array.isArray(obj.required)) names.push(...(obj.required as string[]));
    if (typeof obj.in === 'string' && typeof obj.name === 'string') names.push(obj.name);
    Object.values(obj).forEach(walk);
  };
  walk(doc.paths);
  walk(doc.components);
  return names;
}

describe('OpenAPI document', () => {
  let t: TestApp;
  let generated: OpenAPIObject;

  beforeAll(async () => {
    t = await createTestApp();
    generated = buildOpenApiDocument(t.app);
  });
  afterAll(() => t?.close());

  it('the committed openapi.json is up to date (run `npm run openapi`)', () => {
    const committed = JSON.parse(readFileSync('openapi.json', 'utf8')) as OpenAPIObject;
    expect(committed).toEqual(JSON.parse(JSON.stringify(generated)));
  });

  it('is a valid OpenAPI 3 document', () => {
    // swagger-parser require()s ESM, which jest's CommonJS loader cannot do on
    // Node 20; plain Node can, so it runs in a child process.
    const script = `import('@apidevtools/swagger-parser').then(async ({ default: p }) => {
      const api = await p.validate('openapi.json');
      process.stdout.write(api.openapi);
    }).catch((e) => { process.stderr.write(String(e.message)); process.exit(1); });`;
    const version = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(version).toMatch(/^3\.\d+\.\d+$/);
  });

  it('every wire name is snake_case', () => {
    const names = wireNames(generated);
    expect(names.length).toBeGreaterThan(30);
    expect(names.filter((n) => !/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(n))).toEqual([]);
  });

  it('documents every route of the contract, with bearer auth and problem responses', () => {
    const ops = Object.entries(generated.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(ops.sort()).toEqual(
      [
        'GET /health',
        'GET /health/ready',
        'POST /api/auth/register',
        'POST /api/auth/login',
        'POST /api/auth/refresh',
        'POST /api/auth/logout',
        'POST /api/auth/logout-all',
        'POST /api/auth/password',
        'GET /api/auth/me',
        'GET /api/auth/mfa',
        'POST /api/auth/mfa/setup',
        'POST /api/auth/mfa/confirm',
        'POST /api/auth/mfa/disable',
        'POST /api/patients',
        'GET /api/patients',
        'GET /api/patients/{id}',
        'PUT /api/patients/{id}',
        'PATCH /api/patients/{id}',
        'DELETE /api/patients/{id}',
        'POST /api/doctors',
        'GET /api/doctors',
        'GET /api/doctors/{id}',
        'PUT /api/doctors/{id}',
        'PATCH /api/doctors/{id}',
        'DELETE /api/doctors/{id}',
        'POST /api/mappings',
        'GET /api/mappings',
        'GET /api/mappings/{id}',
        'DELETE /api/mappings/{id}',
        'GET /api/admin/patients',
        'GET /api/admin/users',
        'GET /api/admin/users/{id}',
        'PATCH /api/admin/users/{id}',
        'GET /api/admin/mappings',
        'GET /api/admin/audit-events',
      ].sort(),
    );
    const get = generated.paths['/api/patients/{id}'].get!;
    expect(get.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(get.responses)).toEqual(expect.arrayContaining(['200', '401', '404']));
    expect(JSON.stringify(get.responses['404'])).toContain('application/problem+json');
    expect(generated.components?.securitySchemes?.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('is served at /docs-json, and Swagger UI at /docs', async () => {
    const json = await t.http.get('/docs-json');
    expect(json.status).toBe(200);
    expect(json.body.paths['/api/patients']).toBeDefined();
    const ui = await t.http.get('/docs');
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toContain('text/html');
  });
});

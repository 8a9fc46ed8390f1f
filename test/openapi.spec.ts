import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { STATUS_CODES } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { OpenAPIObject } from '@nestjs/swagger';
import { buildOpenApiDocument } from '../src/app.setup.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { createAdmin, createDoctor, createPatient, createUser } from './utils/factories.js';
import type { HttpResponse } from './utils/http.js';

interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  allOf?: Schema[];
}
interface Response {
  description?: string;
  content?: Record<string, { schema?: Schema; example?: Record<string, unknown> }>;
}
interface Operation {
  parameters?: { name: string }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, Response>;
}

/** Every operation of the document, as `GET /api/patients`. */
function operations(doc: OpenAPIObject): { op: string; path: string; method: string; operation: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item as Record<string, Operation>).map(([method, operation]) => ({
      op: `${method.toUpperCase()} ${path}`,
      path,
      method,
      operation,
    })),
  );
}

/** Every response of every operation, as `GET /api/patients 404`. */
function responses(doc: OpenAPIObject) {
  return operations(doc).flatMap(({ op, path, method, operation }) =>
    Object.entries(operation.responses).map(([status, response]) => ({
      at: `${op} ${status}`,
      path,
      method,
      status: Number(status),
      operation,
      response,
    })),
  );
}

/** The property names of a schema, through $ref and allOf. */
function propertiesOf(doc: OpenAPIObject, schema: Schema | undefined): string[] {
  if (!schema) return [];
  if (schema.$ref) return propertiesOf(doc, doc.components?.schemas?.[schema.$ref.split('/').pop() as string] as Schema);
  return [...Object.keys(schema.properties ?? {}), ...(schema.allOf ?? []).flatMap((part) => propertiesOf(doc, part))];
}

/** The fields a client sends to an operation: its parameters and its JSON body's properties. */
function inputsOf(doc: OpenAPIObject, operation: Operation): string[] {
  const body = operation.requestBody?.content['application/json']?.schema;
  return [...(operation.parameters ?? []).map((p) => p.name), ...propertiesOf(doc, body)];
}

/** Every object key a client sees on the wire: schema properties, parameters, required lists. */
function wireNames(doc: OpenAPIObject): string[] {
  const names: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    if (obj.properties && typeof obj.properties === 'object') names.push(...Object.keys(obj.properties));
    if (Array.isArray(obj.required)) names.push(...(obj.required as string[]));
    // Query and path parameters; a header keeps HTTP's own spelling (If-Match).
    if (typeof obj.in === 'string' && obj.in !== 'header' && typeof obj.name === 'string') names.push(obj.name);
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
        'GET /api/patients/{id}/history',
        'PUT /api/patients/{id}',
        'PATCH /api/patients/{id}',
        'DELETE /api/patients/{id}',
        'POST /api/patients/{id}/restore',
        'POST /api/doctors',
        'GET /api/doctors',
        'GET /api/doctors/{id}',
        'GET /api/doctors/{id}/history',
        'PUT /api/doctors/{id}',
        'PATCH /api/doctors/{id}',
        'DELETE /api/doctors/{id}',
        'POST /api/mappings',
        'GET /api/mappings',
        'GET /api/mappings/{id}',
        'DELETE /api/mappings/{id}',
        'GET /api/admin/patients',
        'POST /api/admin/patients/{id}/restore',
        'POST /api/admin/doctors/{id}/restore',
        'GET /api/admin/deleted',
        'GET /api/admin/users',
        'POST /api/admin/users',
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

  describe('every documented error shows an example of its own status', () => {
    const errors = () => responses(generated).filter(({ status }) => status >= 400);

    it('each is a problem+json body of that status, with that status title', () => {
      const all = errors();
      expect(all.length).toBeGreaterThan(100);
      const wrong = all.flatMap(({ at, status, response }) => {
        const example = response.content?.['application/problem+json']?.example;
        const ok =
          example?.type === 'about:blank' &&
          example.status === status &&
          example.title === STATUS_CODES[status] &&
          typeof example.detail === 'string' &&
          example.detail.length > 0;
        return ok ? [] : [{ at, example }];
      });
      expect(wrong).toEqual([]);
    });

    it('only a 400 names fields, and only fields that route takes', () => {
      const wrong = errors().flatMap(({ at, status, operation, response }) => {
        const fields = Object.keys((response.content?.['application/problem+json']?.example?.errors as object) ?? {});
        if (status !== 400) return fields.length ? [`${at}: names ${fields.join(', ')}`] : [];
        const inputs = inputsOf(generated, operation);
        const unknown = fields.filter((field) => !inputs.includes(field));
        return fields.length === 0 || unknown.length ? [`${at}: names ${fields.join(', ') || 'nothing'} of ${inputs.join(', ')}`] : [];
      });
      expect(wrong).toEqual([]);
    });

    it('the examples are what the API answers', async () => {
      const example = (method: string, path: string, status: number) =>
        (generated.paths[path] as Record<string, Operation>)[method].responses[String(status)].content?.[
          'application/problem+json'
        ]?.example;
      const user = await createUser(t.http);
      const other = await createUser(t.http);
      const admin = await createAdmin(t);
      const token = { token: user.access };
      const doctor = await createDoctor(t.http, user.access);
      const patient = await createPatient(t.http, user.access);
      await t.http.post('/api/mappings/', { patient: patient.id, doctor: doctor.id }, token);
      const json = { 'content-type': 'application/json' };
      // Sent one after another, each answer compared with what the document shows for it.
      const cases: [string, string, number, () => Promise<HttpResponse>][] = [
        ['get', '/api/patients', 401, () => t.http.get('/api/patients/')],
        ['get', '/api/patients', 400, () => t.http.get('/api/patients/?page_size=0', token)],
        ['post', '/api/patients', 400, () => t.http.post('/api/patients/', { name: 'A', age: 200, gender: 'female' }, token)],
        ['post', '/api/patients', 413, () => t.http.post('/api/patients/', undefined, { ...token, raw: JSON.stringify({ name: 'x'.repeat(110_000) }), headers: json })],
        ['post', '/api/patients', 415, () => t.http.post('/api/patients/', undefined, { ...token, raw: '{}', headers: { 'content-type': 'text/plain' } })],
        ['get', '/api/patients/{id}', 404, () => t.http.get(`/api/patients/${randomUUID()}/`, token)],
        ['get', '/api/patients/{id}', 404, () => t.http.get(`/api/patients/${patient.id}/`, { token: other.access })],
        ['post', '/api/doctors', 400, () => t.http.post('/api/doctors/', { name: 'D', specialization: 'C', email: 'd@example.org', phone: '123' }, token)],
        ['post', '/api/doctors', 409, () => t.http.post('/api/doctors/', { name: 'D', specialization: 'C', email: doctor.email, phone: '5551234567' }, token)],
        ['get', '/api/doctors/{id}', 404, () => t.http.get(`/api/doctors/${randomUUID()}/`, token)],
        ['patch', '/api/doctors/{id}', 403, () => t.http.patch(`/api/doctors/${doctor.id}/`, { name: 'Z' }, { token: other.access })],
        ['post', '/api/mappings', 400, () => t.http.post('/api/mappings/', { patient: 'x', doctor: doctor.id }, token)],
        ['post', '/api/mappings', 409, () => t.http.post('/api/mappings/', { patient: patient.id, doctor: doctor.id }, token)],
        ['post', '/api/mappings', 404, () => t.http.post('/api/mappings/', { patient: patient.id, doctor: doctor.id }, { token: other.access })],
        ['delete', '/api/mappings/{id}', 404, () => t.http.delete(`/api/mappings/${randomUUID()}/`, token)],
        ['post', '/api/auth/register', 400, () => t.http.post('/api/auth/register/', { username: `u_${randomUUID().slice(0, 8)}`, email: 'new@example.org', password: 'x' })],
        ['post', '/api/auth/register', 409, () => t.http.post('/api/auth/register/', { username: user.username, email: 'other@example.org', password: 'Quiet-Harbour-Lantern-42' })],
        ['post', '/api/auth/login', 400, () => t.http.post('/api/auth/login/', { username: user.username })],
        ['post', '/api/auth/login', 401, () => t.http.post('/api/auth/login/', { username: user.username, password: 'not-the-password' })],
        ['post', '/api/auth/refresh', 400, () => t.http.post('/api/auth/refresh/', {})],
        ['post', '/api/auth/refresh', 401, () => t.http.post('/api/auth/refresh/', { refresh: 'not-a-token' })],
        ['post', '/api/auth/logout', 401, () => t.http.post('/api/auth/logout/', { refresh: 'not-a-token' })],
        ['post', '/api/auth/password', 400, () => t.http.post('/api/auth/password/', { old_password: 'x' }, token)],
        ['post', '/api/auth/mfa/confirm', 409, () => t.http.post('/api/auth/mfa/confirm/', { code: '123456' }, token)],
        ['post', '/api/auth/mfa/confirm', 400, () => t.http.post('/api/auth/mfa/confirm/', { code: 'x' }, token)],
        ['post', '/api/auth/mfa/disable', 409, () => t.http.post('/api/auth/mfa/disable/', { password: 'x', code: '123456' }, token)],
        ['get', '/api/admin/users', 403, () => t.http.get('/api/admin/users/', token)],
        ['get', '/api/admin/users/{id}', 404, () => t.http.get(`/api/admin/users/${randomUUID()}/`, { token: admin.access })],
        ['patch', '/api/admin/users/{id}', 400, () => t.http.patch(`/api/admin/users/${user.id}/`, { role: 'root' }, { token: admin.access })],
        ['patch', '/api/admin/users/{id}', 409, () => t.http.patch(`/api/admin/users/${admin.id}/`, { role: 'user' }, { token: admin.access })],
      ];
      const mismatches: unknown[] = [];
      for (const [method, path, status, send] of cases) {
        const documented = example(method, path, status);
        const answer = await send();
        const { type, title, detail, errors } = answer.body ?? {};
        const actual = { status: answer.status, type, title, detail, ...(errors ? { errors } : {}) };
        if (!isDeepStrictEqual(actual, { ...documented, status })) {
          mismatches.push({ at: `${method.toUpperCase()} ${path} ${status}`, documented, actual });
        }
      }
      expect(mismatches).toEqual([]);
    }, 60_000);
  });

  it('types whole numbers as integer: no schema or parameter is a bare number', () => {
    const numbers: string[] = [];
    const walk = (node: unknown, at: string): void => {
      if (Array.isArray(node)) return node.forEach((child, i) => walk(child, `${at}[${i}]`));
      if (node === null || typeof node !== 'object') return;
      if ((node as { type?: unknown }).type === 'number') numbers.push(at);
      for (const [key, child] of Object.entries(node)) walk(child, `${at}.${key}`);
    };
    walk(generated, '');
    expect(numbers).toEqual([]);
    const schemas = generated.components!.schemas as Record<string, Schema>;
    for (const name of ['PatientDto', 'AdminPatientDto', 'CreatePatientDto', 'ReplacePatientDto', 'UpdatePatientDto']) {
      expect({ name, type: schemas[name].properties?.age?.type }).toEqual({ name, type: 'integer' });
    }
    expect(schemas.ProblemDto.properties?.status?.type).toBe('integer');
    // Every list's page_size, and the other integer query parameters.
    const integerParams = operations(generated).flatMap(({ op, operation }) =>
      (operation.parameters ?? [])
        .filter((p) => ['page_size', 'min_age', 'max_age', 'status'].includes(p.name))
        .map((p) => ({ at: `${op} ${p.name}`, type: (p as { schema?: Schema }).schema?.type })),
    );
    expect(integerParams.length).toBeGreaterThanOrEqual(12);
    expect(integerParams.filter((p) => p.type !== 'integer')).toEqual([]);
  });

  it('describes every response, success included', () => {
    const all = responses(generated);
    expect(all.filter(({ status }) => status < 300).length).toBe(operations(generated).length);
    const missing = all.filter(({ response }) => !response.description?.trim()).map(({ at }) => at);
    expect(missing).toEqual([]);
  });

  it('Swagger UI keeps the token across reloads (persistAuthorization)', async () => {
    const init = await t.http.get('/docs/swagger-ui-init.js');
    expect(init.status).toBe(200);
    expect(init.text).toMatch(/"persistAuthorization":\s*true/);
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

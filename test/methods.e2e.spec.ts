import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { createPatient, createUser, type TestUser } from './utils/factories.js';
import { expectProblem } from './utils/problem.js';

describe('Methods a path does not have (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await createUser(t.http);
  });
  afterAll(() => t?.close());

  it.each([
    ['PUT', '/api/patients/', 'GET, HEAD, POST'],
    ['DELETE', '/api/patients', 'GET, HEAD, POST'],
    ['POST', '/api/patients/00000000-0000-4000-8000-000000000000/', 'GET, HEAD, PUT, PATCH, DELETE'],
    ['GET', '/api/auth/login/', 'POST'],
    ['PATCH', '/api/mappings/00000000-0000-4000-8000-000000000000/', 'GET, HEAD, DELETE'],
    ['OPTIONS', '/api/doctors/', 'GET, HEAD, POST'],
  ])('%s %s is 405 with Allow: %s', async (method, path, allow) => {
    const res = await t.http.request(method, path, { token: alice.access });
    expectProblem(res, 405);
    expect(res.headers.get('allow')).toBe(allow);
  });

  it('a path that does not exist stays 404, and so does a record that does not', async () => {
    expectProblem(await t.http.put('/api/nothing/', {}, { token: alice.access }), 404);
    const missing = await t.http.get('/api/patients/00000000-0000-4000-8000-000000000000/', { token: alice.access });
    expectProblem(missing, 404);
    expect(missing.headers.get('allow')).toBeNull();
  });

  it('the methods a path has still work', async () => {
    const p = await createPatient(t.http, alice.access);
    expect((await t.http.get(`/api/patients/${p.id}/`, { token: alice.access })).status).toBe(200);
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { buildUser, createPatient } from './utils/factories.js';

/**
 * The log is read as an operator would read it: every line the app writes
 * during a realistic session, searched for secrets and patient data.
 */
describe('Logs (e2e)', () => {
  let t: TestApp;
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);

  beforeAll(async () => {
    process.stdout.write = ((chunk: string | Uint8Array) => {
      lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof process.stdout.write;
    t = await createTestApp({ LOG_LEVEL: 'debug' });
  });
  afterAll(async () => {
    process.stdout.write = write;
    await t?.close();
  });

  it('never contains passwords, tokens or patient fields, and keeps the request id', async () => {
    const user = buildUser({ password: 'Zebra-Quartz-Harbour-91' });
    await t.http.post('/api/auth/register/', user);
    const login = await t.http.post('/api/auth/login/', { username: user.username, password: user.password });
    await t.http.post('/api/auth/login/', { username: user.username, password: 'Wrong-Lantern-Guess-77' });
    const { access, refresh } = login.body;

    const patient = await createPatient(t.http, access, { name: 'Hypatia Secretname', address: '77 Quietlane Road' });
    await t.http.get('/api/patients/?search=Secretname', { token: access, headers: { 'x-request-id': 'trace-me-42' } });
    await t.http.patch(`/api/patients/${patient.id}/`, { age: 999, name: 'Hypatia Secretname' }, { token: access });
    await t.http.post('/api/auth/refresh/', { refresh });
    await t.http.post('/api/auth/refresh/', { refresh }); // reuse: 401
    await new Promise((resolve) => setTimeout(resolve, 100));

    const log = lines.join('');
    // The capture works: the access log is there, with the caller's request id.
    expect(log).toContain('"req_id":"trace-me-42"');
    expect(log).toContain('"path":"/api/patients/"');
    for (const secret of [
      user.password,
      'Wrong-Lantern-Guess-77',
      access,
      refresh,
      access.split('.')[2],
      'Secretname',
      'Quietlane',
      user.email,
    ]) {
      expect({ secret, found: log.includes(secret) }).toEqual({ secret, found: false });
    }
  });
});

import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PasswordHasher } from '../src/auth/password-hasher.js';
import { createSuperuser } from '../src/auth/superuser.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { buildUser, createUser } from './utils/factories.js';

async function openSocket(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  return socket;
}

async function firstChunk(socket: Socket): Promise<string> {
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  return chunk.toString('latin1');
}

describe('create-superuser and shutdown (e2e)', () => {
  let t: TestApp;
  let closed = false;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    if (!closed) await t?.close();
    else await t?.db.drop();
  });

  it('create-superuser makes an admin who passes every ownership rule', async () => {
    const input = buildUser();
    const admin = await createSuperuser(t.app, input);
    expect(admin.role).toBe('admin');
    // On the audit trail, in the same transaction as the account.
    const events = await t.dataSource.query(`SELECT action, resource_id, reason, actor_id FROM audit_events WHERE resource_id = $1`, [
      admin.id,
    ]);
    expect(events).toEqual([{ action: 'create', resource_id: admin.id, reason: 'cli:create-superuser', actor_id: null }]);

    const login = await t.http.post('/api/auth/login/', { username: input.username, password: input.password });
    expect(login.status).toBe(200);
    const me = await t.http.get('/api/auth/me/', { token: login.body.access });
    expect(me.body).toMatchObject({ username: input.username, role: 'admin' });

    const owner = await createUser(t.http);
    const created = await t.http.post(
      '/api/patients/',
      { name: 'Owned', age: 30, gender: 'male', address: '' },
      { token: owner.access },
    );
    const seen = await t.http.get(`/api/patients/${created.body.id}/`, { token: login.body.access });
    expect(seen.status).toBe(200);
  });

  it('create-superuser applies the registration rules', async () => {
    const taken = buildUser();
    await createSuperuser(t.app, taken);
    await expect(createSuperuser(t.app, { ...buildUser(), username: taken.username.toUpperCase() })).rejects.toThrow(
      /already exists/,
    );
    await expect(createSuperuser(t.app, buildUser({ password: '12345678' }))).rejects.toThrow(/numeric/);
    await expect(createSuperuser(t.app, buildUser({ username: 'no spaces allowed' }))).rejects.toThrow(/username/);
  });

  it('on shutdown, a request in flight is answered before the database closes', async () => {
    const input = buildUser();
    expect((await t.http.post('/api/auth/register/', input)).status).toBe(201);

    // Close the app while a login is being served: once its password check
    // has started, the request is inside the app, past routing.
    const hasher = t.app.get(PasswordHasher);
    const verify = hasher.verify.bind(hasher);
    let started!: () => void;
    const serving = new Promise<void>((resolve) => (started = resolve));
    hasher.verify = (hash, password, key) => {
      started();
      return verify(hash, password, key);
    };
    // Connections a client keeps open without a request in progress: one that never sent anything (a browser's
    // preconnect) and one idle after a request. Node's close() alone waited for the first until the client hung up.
    const { port } = new URL(t.baseUrl);
    const silent = await openSocket(Number(port));
    const kept = await openSocket(Number(port));
    kept.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    expect(await firstChunk(kept)).toMatch(/^HTTP\/1\.1 200/);
    const dropped = Promise.all([once(silent, 'close'), once(kept, 'close')]);

    const inFlight = t.http.post('/api/auth/login/', { username: input.username, password: input.password });
    await serving;
    const closing = t.app.close();
    closed = true;

    const res = await inFlight;
    // Resolves only once every connection has ended: the server ended both, the clients did nothing.
    await closing;
    await dropped;
    expect(res.status).toBe(200);
    expect(res.body.access).toEqual(expect.any(String));
    await expect(fetch(`${t.baseUrl}/health`)).rejects.toThrow();
  });
});

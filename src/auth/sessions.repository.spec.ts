import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { openTestDataSource } from '../../test/utils/data-source.js';
import { insertUser } from '../../test/utils/factories.js';
import { Session } from './session.entity.js';
import { SessionsRepository } from './sessions.repository.js';

/** On a real database (PGlite in memory; PostgreSQL with TEST_DATABASE_URL): which sessions are live, what rotation changes. */
describe(SessionsRepository.name, () => {
  let t: Awaited<ReturnType<typeof openTestDataSource>>;
  let dataSource: DataSource;
  let repo: SessionsRepository;
  let user: { id: string; username: string };

  const hour = () => new Date(Date.now() + 3_600_000);
  const open = (userId = user.id) =>
    repo.insertSession({ userId, refreshJti: randomUUID(), refreshExpiresAt: hour(), expiresAt: hour() });
  const stored = async (id: string) =>
    ((await dataSource.query(`SELECT refresh_jti, previous_jti, revoked_at FROM sessions WHERE id = $1`, [id])) as Array<{
      refresh_jti: string;
      previous_jti: string | null;
      revoked_at: Date | null;
    }>)[0];

  beforeAll(async () => {
    t = await openTestDataSource();
    dataSource = t.dataSource;
    repo = new SessionsRepository(dataSource.getRepository(Session));
    user = await insertUser(dataSource);
  }, 60_000);
  afterAll(() => t?.close());

  it('inserts a session and returns it whole', async () => {
    const session = await open();
    expect(session).toBeInstanceOf(Session);
    expect(session).toMatchObject({ userId: user.id, revokedAt: null });
    expect(session.createdAt).toBeInstanceOf(Date);
  });

  it('finds the user of a live session only: not revoked, not expired, user active', async () => {
    const live = await open();
    await expect(repo.findLiveUser(live.id)).resolves.toEqual({ id: user.id, username: user.username, role: 'user' });

    const revoked = await open();
    await repo.updateRevoked(revoked.id, user.id);
    await expect(repo.findLiveUser(revoked.id)).resolves.toBeNull();

    const expired = await open();
    await dataSource.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired.id]);
    await expect(repo.findLiveUser(expired.id)).resolves.toBeNull();

    const other = await insertUser(dataSource);
    const inactive = await open(other.id);
    await dataSource.query(`UPDATE users SET is_active = false WHERE id = $1`, [other.id]);
    await expect(repo.findLiveUser(inactive.id)).resolves.toBeNull();
    await expect(repo.findLiveUser(randomUUID())).resolves.toBeNull();
  });

  it('rotates from the current jti only, remembering the one rotated away from', async () => {
    const session = await open();
    const next = randomUUID();
    const rotatedAt = new Date();
    await expect(repo.updateRotated(session.id, user.id, randomUUID(), next, 1800, rotatedAt)).resolves.toBeNull();
    await expect(repo.updateRotated(session.id, randomUUID(), session.refreshJti, next, 1800, rotatedAt)).resolves.toBeNull();
    const rotated = await repo.updateRotated(session.id, user.id, session.refreshJti, next, 1800, rotatedAt);
    expect(rotated).toMatchObject({ id: session.id, userId: user.id });
    expect(await stored(session.id)).toMatchObject({ refresh_jti: next, previous_jti: session.refreshJti, revoked_at: null });
    // The same jti again has lost: it is no longer current.
    await expect(repo.updateRotated(session.id, user.id, session.refreshJti, randomUUID(), 1800, new Date())).resolves.toBeNull();
  });

  it('finds a rotation from a jti after a given time (the grace), with its successor', async () => {
    const session = await open();
    const next = randomUUID();
    const rotatedAt = new Date();
    await repo.updateRotated(session.id, user.id, session.refreshJti, next, 1800, rotatedAt);
    const found = await repo.findRotatedFrom(session.id, user.id, session.refreshJti, new Date(rotatedAt.getTime() - 5000));
    expect(found).toMatchObject({ id: session.id, refreshJti: next });
    expect(new Date(found!.rotatedAt as Date).getTime()).toBe(rotatedAt.getTime());
    await expect(repo.findRotatedFrom(session.id, user.id, session.refreshJti, new Date(rotatedAt.getTime() + 1))).resolves.toBeNull();
    await expect(repo.findRotatedFrom(session.id, user.id, next, new Date(0))).resolves.toBeNull();
  });

  it('revokes on reuse of an older jti, but not for the current one or the one just rotated away from within the grace', async () => {
    const session = await open();
    const next = randomUUID();
    const rotatedAt = new Date();
    await repo.updateRotated(session.id, user.id, session.refreshJti, next, 1800, rotatedAt);
    const graceSince = new Date(rotatedAt.getTime() - 5000);
    await expect(repo.updateRevokedOnReuse(session.id, user.id, next, graceSince)).resolves.toBe(false);
    await expect(repo.updateRevokedOnReuse(session.id, user.id, session.refreshJti, graceSince)).resolves.toBe(false);
    expect((await stored(session.id)).revoked_at).toBeNull();
    await expect(repo.updateRevokedOnReuse(session.id, user.id, randomUUID(), graceSince)).resolves.toBe(true);
    expect((await stored(session.id)).revoked_at).not.toBeNull();
    // Already revoked: nothing more to revoke.
    await expect(repo.updateRevokedOnReuse(session.id, user.id, randomUUID(), graceSince)).resolves.toBe(false);
  });

  it('revokes one session of its user only, or every live session of a user (in the caller’s transaction)', async () => {
    const owner = await insertUser(dataSource);
    const [a, b, c] = [await open(owner.id), await open(owner.id), await open(owner.id)];
    await repo.updateRevoked(a.id, user.id);
    expect((await stored(a.id)).revoked_at).toBeNull();
    await repo.updateRevoked(a.id, owner.id);
    expect((await stored(a.id)).revoked_at).not.toBeNull();
    const ids = await dataSource.transaction((m) => repo.updateAllRevoked(owner.id, m));
    expect(ids.sort()).toEqual([b.id, c.id].sort());
    await expect(repo.updateAllRevoked(owner.id)).resolves.toEqual([]);
  });
});

import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { AppConfig, validate } from '../config/app-config.js';
import { Session } from './session.entity.js';
import { SessionRevocations } from './session-revocations.js';
import { SessionsRepository } from './sessions.repository.js';
import { SESSION_CACHE_MS, SessionsService } from './sessions.service.js';

const USER = { id: randomUUID(), username: 'ada', role: 'user' as const };

/** The repository's methods as mocks; what the SQL does is src/auth/sessions.repository.spec.ts's to prove. */
function mockRepository() {
  return {
    insertSession: jest.fn(async (values: Partial<Session>) => Object.assign(new Session(), { id: randomUUID(), revokedAt: null, ...values })),
    updateRotated: jest.fn<SessionsRepository['updateRotated']>(),
    findRotatedFrom: jest.fn<SessionsRepository['findRotatedFrom']>(),
    updateRevokedOnReuse: jest.fn<SessionsRepository['updateRevokedOnReuse']>(),
    updateRevoked: jest.fn<SessionsRepository['updateRevoked']>(async () => undefined),
    updateAllRevoked: jest.fn<SessionsRepository['updateAllRevoked']>(),
    findLiveUser: jest.fn<SessionsRepository['findLiveUser']>(),
  };
}

const session = (values: Partial<Session>) => Object.assign(new Session(), values);

describe(SessionsService.name, () => {
  let service: SessionsService;
  let repo: ReturnType<typeof mockRepository>;
  let env: { JWT_SESSION_TTL: string; JWT_REFRESH_IDLE_TTL: string; JWT_REFRESH_GRACE: string };
  /** What the instance announced, and a way to deliver another instance's announcement. */
  let revocations: { published: string[][]; deliver: (ids: string[]) => void };

  async function build(): Promise<SessionsService> {
    const moduleRef = await Test.createTestingModule({
      providers: [
        SessionsService,
        { provide: SessionsRepository, useValue: repo },
        { provide: AppConfig, useValue: validate(env) },
        { provide: SessionRevocations, useValue: fakeRevocations() },
      ],
    }).compile();
    return moduleRef.get(SessionsService);
  }

  function fakeRevocations() {
    const listeners: Array<(ids: string[]) => void> = [];
    revocations = { published: [], deliver: (ids) => listeners.forEach((l) => l(ids)) };
    return {
      onRevoked: (listener: (ids: string[]) => void) => listeners.push(listener),
      publish: (ids: string[]) => revocations.published.push(ids),
    };
  }

  beforeEach(async () => {
    env = { JWT_SESSION_TTL: '43200', JWT_REFRESH_IDLE_TTL: '1800', JWT_REFRESH_GRACE: '5' };
    repo = mockRepository();
    service = await build();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  describe('open', () => {
    it('starts the idle timer and the absolute limit at login', async () => {
      const before = Date.now();
      const session = await service.open(USER.id);
      expect(session).toBeInstanceOf(Session);
      expect(session.userId).toBe(USER.id);
      expect(session.refreshJti).toMatch(/^[0-9a-f-]{36}$/);
      const idle = session.refreshExpiresAt.getTime() - before;
      const absolute = session.expiresAt.getTime() - before;
      expect(idle).toBeGreaterThanOrEqual(1800 * 1000);
      expect(idle).toBeLessThan(1801 * 1000);
      expect(absolute).toBeGreaterThanOrEqual(43_200 * 1000);
      expect(absolute).toBeLessThan(43_201 * 1000);
    });

    it('never lets the refresh token outlive the session', async () => {
      env.JWT_SESSION_TTL = '12';
      service = await build();
      const session = await service.open(USER.id);
      expect(session.refreshExpiresAt.getTime()).toBe(session.expiresAt.getTime());
    });
  });

  describe('rotate', () => {
    it('moves the session to a new jti when the presented one is current', async () => {
      const sid = randomUUID();
      const jti = randomUUID();
      repo.updateRotated.mockResolvedValueOnce(session({ id: sid, userId: USER.id, expiresAt: new Date() }));
      const result = await service.rotate(sid, USER.id, jti);
      expect(result).toEqual({
        ok: true,
        session: expect.objectContaining({ id: sid }),
        newJti: expect.any(String),
        issuedAt: expect.any(Date),
        retry: false,
      });
      if (!result.ok) throw new Error('unreachable');
      expect(result.newJti).not.toBe(jti);
      expect(repo.updateRotated).toHaveBeenCalledTimes(1);
      expect(repo.updateRotated).toHaveBeenCalledWith(sid, USER.id, jti, result.newJti, 1800, result.issuedAt);
      expect(repo.findRotatedFrom).not.toHaveBeenCalled();
      expect(repo.updateRevokedOnReuse).not.toHaveBeenCalled();
    });

    it('the jti just rotated, within the grace, gets the same successor and its issue time: nothing is revoked', async () => {
      const sid = randomUUID();
      const [jti, successor] = [randomUUID(), randomUUID()];
      const rotatedAt = new Date(Date.now() - 1000);
      const expiresAt = new Date(Date.now() + 60_000);
      repo.updateRotated.mockResolvedValueOnce(null);
      repo.findRotatedFrom.mockResolvedValueOnce(session({ id: sid, userId: USER.id, expiresAt, refreshJti: successor, rotatedAt }));
      await expect(service.rotate(sid, USER.id, jti)).resolves.toEqual({
        ok: true,
        session: expect.objectContaining({ id: sid, expiresAt }),
        newJti: successor,
        issuedAt: rotatedAt,
        retry: true,
      });
      expect(repo.updateRevokedOnReuse).not.toHaveBeenCalled();
      // The grace starts JWT_REFRESH_GRACE seconds ago.
      const graceStart = repo.findRotatedFrom.mock.calls[0][3];
      expect(Date.now() - graceStart.getTime()).toBeGreaterThanOrEqual(5000);
      expect(Date.now() - graceStart.getTime()).toBeLessThan(6000);
    });

    it('an older jti of a live session is reuse: the session is revoked and forgotten by the cache', async () => {
      const sid = randomUUID();
      repo.findLiveUser.mockResolvedValueOnce({ id: USER.id, username: USER.username, role: USER.role });
      await expect(service.authenticate(sid, USER.id)).resolves.toMatchObject({ id: USER.id });

      const jti = randomUUID();
      repo.updateRotated.mockResolvedValueOnce(null);
      repo.findRotatedFrom.mockResolvedValueOnce(null);
      repo.updateRevokedOnReuse.mockResolvedValueOnce(true);
      await expect(service.rotate(sid, USER.id, jti)).resolves.toEqual({ ok: false, reason: 'reused' });
      expect(repo.updateRevokedOnReuse).toHaveBeenCalledWith(sid, USER.id, jti, expect.any(Date));

      repo.findLiveUser.mockResolvedValueOnce(null);
      await expect(service.authenticate(sid, USER.id)).resolves.toBeNull();
      expect(repo.findLiveUser).toHaveBeenCalledTimes(2);
    });

    it('a session that has ended (revoked, expired, user inactive) is just refused', async () => {
      repo.updateRotated.mockResolvedValueOnce(null);
      repo.findRotatedFrom.mockResolvedValueOnce(null);
      repo.updateRevokedOnReuse.mockResolvedValueOnce(false);
      await expect(service.rotate(randomUUID(), USER.id, randomUUID())).resolves.toEqual({ ok: false, reason: 'ended' });
    });
  });

  describe('authenticate', () => {
    const row = (sid: string) => ({ id: USER.id, username: USER.username, role: USER.role, sessionId: sid });

    it('checks the session and its user, then trusts the answer for SESSION_CACHE_MS', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const sid = randomUUID();
      repo.findLiveUser.mockResolvedValue({ id: USER.id, username: USER.username, role: USER.role });

      await expect(service.authenticate(sid, USER.id)).resolves.toEqual(row(sid));
      // Which sessions count as live (not revoked, not expired, user active): sessions.repository.spec.ts.
      expect(repo.findLiveUser).toHaveBeenCalledWith(sid);
      jest.setSystemTime(Date.now() + SESSION_CACHE_MS - 1);
      await expect(service.authenticate(sid, USER.id)).resolves.toEqual(row(sid));
      expect(repo.findLiveUser).toHaveBeenCalledTimes(1);

      // Past the window the database is asked again: a deactivation made elsewhere is seen.
      repo.findLiveUser.mockResolvedValue(null);
      jest.setSystemTime(Date.now() + 2);
      await expect(service.authenticate(sid, USER.id)).resolves.toBeNull();
      expect(repo.findLiveUser).toHaveBeenCalledTimes(2);
    });

    it('refuses a token whose sub is not the session’s user, cached or not', async () => {
      const sid = randomUUID();
      repo.findLiveUser.mockResolvedValue({ id: USER.id, username: USER.username, role: USER.role });
      await expect(service.authenticate(sid, randomUUID())).resolves.toBeNull();
      await expect(service.authenticate(sid, randomUUID())).resolves.toBeNull();
      await expect(service.authenticate(sid, USER.id)).resolves.toEqual(row(sid));
    });

    it('revoke and revokeAll end the sessions at once on this instance, cache or not', async () => {
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      repo.findLiveUser.mockResolvedValue({ id: USER.id, username: USER.username, role: USER.role });
      for (const sid of [a, b, c]) await service.authenticate(sid, USER.id);
      expect(repo.findLiveUser).toHaveBeenCalledTimes(3);

      await service.revoke(a, USER.id);
      expect(repo.updateRevoked).toHaveBeenCalledWith(a, USER.id, undefined);
      repo.updateAllRevoked.mockResolvedValueOnce([b, c]);
      await service.revokeAll(USER.id);
      expect(repo.updateAllRevoked).toHaveBeenCalledWith(USER.id, undefined);

      repo.findLiveUser.mockResolvedValue(null);
      for (const sid of [a, b, c]) await expect(service.authenticate(sid, USER.id)).resolves.toBeNull();
      expect(repo.findLiveUser).toHaveBeenCalledTimes(6);
      // And every other instance is told.
      expect(revocations.published).toEqual([[a], [b, c]]);
    });

    it('a session another instance ended is checked again at once, however fresh its cached check', async () => {
      const sid = randomUUID();
      repo.findLiveUser.mockResolvedValue({ id: USER.id, username: USER.username, role: USER.role });
      await service.authenticate(sid, USER.id);
      revocations.deliver([sid]);
      repo.findLiveUser.mockResolvedValue(null);
      await expect(service.authenticate(sid, USER.id)).resolves.toBeNull();
      expect(repo.findLiveUser).toHaveBeenCalledTimes(2);
      // Hearing of it is not announcing it again.
      expect(revocations.published).toEqual([]);
    });

    it('after an end is announced, checks are not cached for SESSION_CACHE_MS: one made before its transaction commits cannot keep the session alive', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const sid = randomUUID();
      revocations.deliver([sid]);
      // The revoking transaction has not committed yet: the database still says live.
      repo.findLiveUser.mockResolvedValue({ id: USER.id, username: USER.username, role: USER.role });
      await expect(service.authenticate(sid, USER.id)).resolves.toEqual(row(sid));
      // Committed now: the next check reads the database again instead of a cached "live".
      repo.findLiveUser.mockResolvedValue(null);
      await expect(service.authenticate(sid, USER.id)).resolves.toBeNull();
      expect(repo.findLiveUser).toHaveBeenCalledTimes(2);
      // Past the window, caching resumes.
      jest.setSystemTime(Date.now() + SESSION_CACHE_MS + 1);
      await service.authenticate(sid, USER.id);
      await service.authenticate(sid, USER.id);
      expect(repo.findLiveUser).toHaveBeenCalledTimes(3);
    });
  });
});

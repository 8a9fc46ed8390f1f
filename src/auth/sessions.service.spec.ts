import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { getRepositoryToken } from '@nestjs/typeorm';
import { Session } from './session.entity.js';
import { SESSION_CACHE_MS, SessionsService } from './sessions.service.js';

const USER = { id: randomUUID(), username: 'ada', role: 'user' as const };

describe(SessionsService.name, () => {
  let service: SessionsService;
  let query: jest.Mock<(sql: string, params?: unknown[]) => Promise<unknown>>;
  let inserted: Record<string, unknown> | undefined;
  let env: { JWT_SESSION_TTL: number; JWT_REFRESH_IDLE_TTL: number; JWT_REFRESH_GRACE: number };

  async function build(): Promise<SessionsService> {
    const repository = {
      query,
      // revokeAll runs on the repository's manager unless given a transaction's.
      manager: { query: (sql: string, params?: unknown[]) => query(sql, params) },
      create: (row: unknown) => Object.assign(new Session(), row),
      createQueryBuilder: () => {
        const qb = {
          insert: () => qb,
          values: (values: Record<string, unknown>) => {
            inserted = values;
            return qb;
          },
          returning: () => qb,
          execute: async () => ({ generatedMaps: [{ id: randomUUID(), revokedAt: null, ...inserted }] }),
        };
        return qb;
      },
    };
    const moduleRef = await Test.createTestingModule({
      providers: [
        SessionsService,
        { provide: getRepositoryToken(Session), useValue: repository },
        { provide: ConfigService, useValue: { getOrThrow: (key: keyof typeof env) => env[key] } },
      ],
    }).compile();
    return moduleRef.get(SessionsService);
  }

  beforeEach(async () => {
    env = { JWT_SESSION_TTL: 43_200, JWT_REFRESH_IDLE_TTL: 1800, JWT_REFRESH_GRACE: 5 };
    query = jest.fn<(sql: string, params?: unknown[]) => Promise<unknown>>();
    inserted = undefined;
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
      env.JWT_SESSION_TTL = 12;
      service = await build();
      const session = await service.open(USER.id);
      expect(session.refreshExpiresAt.getTime()).toBe(session.expiresAt.getTime());
    });
  });

  describe('rotate', () => {
    it('moves the session to a new jti when the presented one is current', async () => {
      const sid = randomUUID();
      const jti = randomUUID();
      query.mockResolvedValueOnce([[{ id: sid, userId: USER.id, expiresAt: new Date() }], 1]);
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
      expect(query).toHaveBeenCalledTimes(1);
      expect(query.mock.calls[0][1]).toEqual([sid, USER.id, jti, result.newJti, 1800, result.issuedAt]);
    });

    it('the jti just rotated, within the grace, gets the same successor and its issue time: nothing is revoked', async () => {
      const sid = randomUUID();
      const [jti, successor] = [randomUUID(), randomUUID()];
      const rotatedAt = new Date(Date.now() - 1000);
      const expiresAt = new Date(Date.now() + 60_000);
      query
        .mockResolvedValueOnce([[], 0])
        .mockResolvedValueOnce([{ id: sid, userId: USER.id, expiresAt, refreshJti: successor, rotatedAt }]);
      await expect(service.rotate(sid, USER.id, jti)).resolves.toEqual({
        ok: true,
        session: expect.objectContaining({ id: sid, expiresAt }),
        newJti: successor,
        issuedAt: rotatedAt,
        retry: true,
      });
      expect(query).toHaveBeenCalledTimes(2);
      // The grace starts JWT_REFRESH_GRACE seconds ago.
      const graceStart = query.mock.calls[1][1]![3] as Date;
      expect(Date.now() - graceStart.getTime()).toBeGreaterThanOrEqual(5000);
      expect(Date.now() - graceStart.getTime()).toBeLessThan(6000);
    });

    it('an older jti of a live session is reuse: the session is revoked and forgotten by the cache', async () => {
      const sid = randomUUID();
      query.mockResolvedValueOnce([{ id: USER.id, username: USER.username, role: USER.role }]);
      await expect(service.authenticate(sid, USER.id)).resolves.toMatchObject({ id: USER.id });

      query.mockResolvedValueOnce([[], 0]).mockResolvedValueOnce([]).mockResolvedValueOnce([[{ id: sid }], 1]);
      await expect(service.rotate(sid, USER.id, randomUUID())).resolves.toEqual({ ok: false, reason: 'reused' });
      expect(query.mock.calls[3][0]).toMatch(/UPDATE sessions SET revoked_at = now\(\)/);

      query.mockResolvedValueOnce([]);
      await expect(service.authenticate(sid, USER.id)).resolves.toBeNull();
      expect(query).toHaveBeenCalledTimes(5);
    });

    it('a session that has ended (revoked, expired, user inactive) is just refused', async () => {
      query.mockResolvedValueOnce([[], 0]).mockResolvedValueOnce([]).mockResolvedValueOnce([[], 0]);
      await expect(service.rotate(randomUUID(), USER.id, randomUUID())).resolves.toEqual({ ok: false, reason: 'ended' });
    });
  });

  describe('authenticate', () => {
    const row = (sid: string) => ({ id: USER.id, username: USER.username, role: USER.role, sessionId: sid });

    it('checks the session and its user, then trusts the answer for SESSION_CACHE_MS', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const sid = randomUUID();
      query.mockResolvedValue([{ id: USER.id, username: USER.username, role: USER.role }]);

      await expect(service.authenticate(sid, USER.id)).resolves.toEqual(row(sid));
      expect(query.mock.calls[0][0]).toMatch(/revoked_at IS NULL AND s\.expires_at > now\(\) AND u\.is_active/);
      jest.setSystemTime(Date.now() + SESSION_CACHE_MS - 1);
      await expect(service.authenticate(sid, USER.id)).resolves.toEqual(row(sid));
      expect(query).toHaveBeenCalledTimes(1);

      // Past the window the database is asked again: a deactivation made elsewhere is seen.
      query.mockResolvedValue([]);
      jest.setSystemTime(Date.now() + 2);
      await expect(service.authenticate(sid, USER.id)).resolves.toBeNull();
      expect(query).toHaveBeenCalledTimes(2);
    });

    it('refuses a token whose sub is not the session’s user, cached or not', async () => {
      const sid = randomUUID();
      query.mockResolvedValue([{ id: USER.id, username: USER.username, role: USER.role }]);
      await expect(service.authenticate(sid, randomUUID())).resolves.toBeNull();
      await expect(service.authenticate(sid, randomUUID())).resolves.toBeNull();
      await expect(service.authenticate(sid, USER.id)).resolves.toEqual(row(sid));
    });

    it('revoke and revokeAll end the sessions at once on this instance, cache or not', async () => {
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      query.mockResolvedValue([{ id: USER.id, username: USER.username, role: USER.role }]);
      for (const sid of [a, b, c]) await service.authenticate(sid, USER.id);
      expect(query).toHaveBeenCalledTimes(3);

      query.mockResolvedValueOnce([[], 1]);
      await service.revoke(a, USER.id);
      expect(query.mock.calls[3]).toEqual([expect.stringMatching(/WHERE id = \$1 AND user_id = \$2/), [a, USER.id]]);
      query.mockResolvedValueOnce([[{ id: b }, { id: c }], 2]);
      await service.revokeAll(USER.id);
      expect(query.mock.calls[4][1]).toEqual([USER.id]);

      query.mockResolvedValue([]);
      for (const sid of [a, b, c]) await expect(service.authenticate(sid, USER.id)).resolves.toBeNull();
      expect(query).toHaveBeenCalledTimes(8);
    });
  });
});

import { describe, expect, it, jest } from '@jest/globals';
import { ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { refusal, type RefusedRequest } from '../common/refusal.js';
import { RefusalWriter, type RefusalWriterLimits } from './refusal-writer.js';

type Row = Record<string, unknown>;

function setup(limits: Partial<RefusalWriterLimits> = {}) {
  const written: Row[][] = [];
  const write = jest.fn(async (rows: Row[]) => {
    written.push(rows);
  });
  const warn = jest.fn();
  let now = Date.UTC(2026, 11, 3, 9, 0, 10);
  const writer = new RefusalWriter(write as never, limits, () => now, { warn } as never);
  return {
    writer,
    write,
    written,
    warn,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const anonymous = (ip: string, extra: Partial<RefusedRequest> = {}): RefusedRequest => ({
  id: 'req-1',
  ip,
  method: 'GET',
  routeOptions: { url: '/api/patients/' },
  headers: { 'user-agent': 'flood/1.0' },
  ...extra,
});
const noToken = () => refusal(new UnauthorizedException('no'), 'no_token');

describe(RefusalWriter.name, () => {
  it('aggregates refusals without a user: one row per client IP, route, reason and minute, with a count', async () => {
    const { writer, written } = setup();
    for (let i = 0; i < 50; i++) writer.refused(noToken(), anonymous('203.0.113.7', { id: `req-${i}` }));
    writer.refused(noToken(), anonymous('203.0.113.8'));
    writer.refused(noToken(), anonymous('203.0.113.7', { routeOptions: { url: '/api/patients/:id/' } }));
    await writer.flush();
    expect(written.flat()).toEqual([
      expect.objectContaining({ clientIp: '203.0.113.7', route: 'GET /api/patients/', reason: 'no_token', status: 401, count: 50, requestId: 'req-0' }),
      expect.objectContaining({ clientIp: '203.0.113.8', route: 'GET /api/patients/', count: 1 }),
      expect.objectContaining({ clientIp: '203.0.113.7', route: 'GET /api/patients/:id/', count: 1 }),
    ]);
  });

  it('writes an aggregate only once its minute is over; the next minute starts a new row', async () => {
    const { writer, written, advance } = setup();
    writer.refused(noToken(), anonymous('203.0.113.7'));
    writer.tick();
    await writer.flush().then(() => undefined);
    // flush() writes everything (shutdown); a tick writes what is due.
    expect(written.flat()).toHaveLength(1);

    writer.refused(noToken(), anonymous('203.0.113.7'));
    writer.refused(noToken(), anonymous('203.0.113.7'));
    writer.tick();
    await Promise.resolve();
    expect(written.flat()).toHaveLength(1);
    advance(60_000);
    writer.refused(noToken(), anonymous('203.0.113.7'));
    writer.tick();
    await writer.flush();
    expect(written.flat().map((r) => r.count)).toEqual([1, 2, 1]);
  });

  it("keeps an authenticated caller's refusal one row each, with who it was", async () => {
    const { writer, written } = setup();
    const user = { id: '6f1c3b1e-8d51-4a5e-9a53-1d0c2f3b4a5c', sessionId: '0b7d6c2a-1e4f-4b3a-8c9d-2e1f0a3b4c5d' };
    for (let i = 0; i < 3; i++) writer.refused(refusal(new ForbiddenException('no'), 'not_admin'), anonymous('203.0.113.7', { user }));
    writer.tick();
    await writer.flush();
    expect(written.flat()).toEqual(
      Array.from({ length: 3 }, () =>
        expect.objectContaining({ actorId: user.id, sessionId: user.sessionId, reason: 'not_admin', status: 403, count: 1 }),
      ),
    );
  });

  it('writes a refusal decided past the guards (a 404, a wrong password) as one row each, with what it concerned', async () => {
    const { writer, written } = setup();
    const ctx = { requestId: 'req-9', clientIp: '203.0.113.7', userAgent: 'ua/1', actorId: 'a1', sessionId: 's1' };
    const patient = '6F1C3B1E-8D51-4A5E-9A53-1D0C2F3B4A5C';
    for (let i = 0; i < 2; i++) {
      writer.refusedEvent({ action: 'read', resourceType: 'patient', resourceId: patient, patientId: patient, status: 404, reason: 'not_found' }, ctx);
    }
    // A failed login: no actor, whatever the request's context says; never folded into an aggregate.
    writer.refusedEvent({ action: 'login_failed', resourceType: 'user', actorId: null, status: 401, reason: 'wrong_password' }, undefined);
    await writer.flush();
    expect(written.flat()).toEqual([
      ...Array.from({ length: 2 }, () =>
        expect.objectContaining({
          action: 'read',
          resourceId: patient,
          patientIds: [patient.toLowerCase()],
          actorId: 'a1',
          sessionId: 's1',
          requestId: 'req-9',
          clientIp: '203.0.113.7',
          count: 1,
        }),
      ),
      expect.objectContaining({ action: 'login_failed', actorId: null, patientIds: null, requestId: null, reason: 'wrong_password', count: 1 }),
    ]);
  });

  it('holds at most maxKeys aggregates and maxEvents rows: the rest is counted as lost, reported in one line a second', async () => {
    const { writer, written, warn } = setup({ maxKeys: 3, maxEvents: 2, batchRows: 100 });
    for (let i = 0; i < 10; i++) writer.refused(noToken(), anonymous(`203.0.113.${i}`));
    // An aggregate already held still counts, whatever the pressure.
    writer.refused(noToken(), anonymous('203.0.113.0'));
    const user = { id: '6f1c3b1e-8d51-4a5e-9a53-1d0c2f3b4a5c', sessionId: '0b7d6c2a-1e4f-4b3a-8c9d-2e1f0a3b4c5d' };
    for (let i = 0; i < 5; i++) writer.refused(refusal(new ForbiddenException('no'), 'not_admin'), anonymous('203.0.113.7', { user }));

    expect(writer.stats()).toEqual({ lost: 7 + 3, aggregates: 3, events: 2 });
    // Nothing logged per refusal: a flood must not become a flood of log lines.
    expect(warn).not.toHaveBeenCalled();
    writer.tick();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ lost: 10, lost_total: 10 }), expect.stringMatching(/not recorded/));
    // A second without losses says nothing.
    writer.tick();
    expect(warn).toHaveBeenCalledTimes(1);

    await writer.flush();
    // The tick wrote the two rows; the aggregates of the current minute waited for the flush.
    expect(written.flat().map((r) => r.count)).toEqual([1, 1, 2, 1, 1]);
    expect(writer.stats()).toEqual({ lost: 10, aggregates: 0, events: 0 });
  });

  it('counts the refusals of a batch that cannot be written as lost, and says why', async () => {
    const { writer, write, warn } = setup();
    write.mockRejectedValueOnce(new Error('connection refused'));
    for (let i = 0; i < 4; i++) writer.refused(noToken(), anonymous('203.0.113.7'));
    writer.refused(noToken(), anonymous('203.0.113.9'));
    await writer.flush();
    expect(writer.stats().lost).toBe(5);
    writer.tick();
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ lost: 5, err: { message: 'connection refused' } }),
      expect.any(String),
    );
  });

  it('writes in batches of batchRows, one statement at a time', async () => {
    let inFlight = 0;
    let most = 0;
    const { writer, write } = setup({ batchRows: 2 });
    write.mockImplementation(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
    });
    for (let i = 0; i < 7; i++) writer.refused(noToken(), anonymous(`203.0.113.${i}`));
    writer.tick();
    writer.tick();
    await Promise.all([writer.flush(), writer.flush()]);
    expect(write.mock.calls.map(([rows]) => (rows as unknown[]).length)).toEqual([2, 2, 2, 1]);
    expect(most).toBe(1);
  });

  it('bounds the client-chosen text it keeps: user agent 256, request id 128, route 128', async () => {
    const { writer, written } = setup();
    writer.refused(
      noToken(),
      anonymous('203.0.113.7', { id: 'r'.repeat(1000), headers: { 'user-agent': 'u'.repeat(5000) }, routeOptions: { url: `/${'p'.repeat(500)}` } }),
    );
    await writer.flush();
    const [row] = written.flat();
    expect((row.userAgent as string).length).toBe(256);
    expect((row.requestId as string).length).toBe(128);
    expect((row.route as string).length).toBe(128);
  });
});

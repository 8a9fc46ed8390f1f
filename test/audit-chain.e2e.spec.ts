import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { QueryFailedError } from 'typeorm';
import { AuditService } from '../src/audit/audit.service.js';
import { createTestApp, type TestApp } from './utils/app.js';

const sqlState = (error: unknown) => (error instanceof QueryFailedError ? (error.driverError as { code?: string }).code : undefined);

/** Runs `sql` with the append-only triggers off, as only a database owner could: a tampering. */
async function tamper(t: TestApp, sql: string, params: unknown[] = []): Promise<void> {
  await t.dataSource.transaction(async (m) => {
    await m.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable');
    await m.query(sql, params);
    await m.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_immutable');
  });
}

describe('Audit trail: append-only hash chain (e2e)', () => {
  let t: TestApp;
  let audit: AuditService;

  beforeAll(async () => {
    t = await createTestApp();
    audit = t.app.get(AuditService);
  });
  afterAll(() => t?.close());

  const someEvents = async (n: number) => {
    for (let i = 0; i < n; i++) {
      await audit.record({
        action: i % 2 ? 'read' : 'list',
        status: 200,
        resourceType: 'patient',
        resourceId: i % 2 ? randomUUID() : null,
        resultIds: i % 2 ? null : [randomUUID(), randomUUID()],
        reason: i === 3 ? 'a|b:c ~ é 🩺' : null,
        actorId: randomUUID(),
      });
    }
  };

  it('numbers, stamps and chains each insert; the chain recomputed outside the database holds', async () => {
    await someEvents(8);
    const rows = await t.dataSource.query('SELECT seq, prev_hash, hash, at FROM audit_events ORDER BY seq');
    expect(rows.map((r: { seq: string }) => r.seq)).toEqual(rows.map((_: unknown, i: number) => String(i + 1)));
    for (let i = 1; i < rows.length; i++) expect(Buffer.from(rows[i].prev_hash).equals(Buffer.from(rows[i - 1].hash))).toBe(true);
    const result = await audit.verify();
    expect(result).toMatchObject({ ok: true, checked: rows.length, firstSeq: '1', lastSeq: String(rows.length) });
  });

  it('chains concurrent inserts in commit order, without gaps', async () => {
    const before = (await audit.verify()).checked;
    await Promise.all(Array.from({ length: 20 }, () => audit.record({ action: 'read', status: 200, resourceType: 'doctor' })));
    expect(await audit.verify()).toMatchObject({ ok: true, checked: before + 20 });
  });

  it('refuses UPDATE, DELETE and TRUNCATE, and any change to the chain head', async () => {
    for (const sql of [
      `UPDATE audit_events SET status = 200 WHERE seq = 1`,
      `DELETE FROM audit_events WHERE seq = 1`,
      `TRUNCATE audit_events`,
      `UPDATE audit_chain_head SET seq = 1`,
      `DELETE FROM audit_chain_head`,
    ]) {
      const error = await t.dataSource.query(sql).then(
        () => null,
        (e: unknown) => e,
      );
      expect({ sql, state: sqlState(error) }).toEqual({ sql, state: '42501' });
    }
    // Even a rolled-back attempt leaves the chain as it was.
    expect((await audit.verify()).ok).toBe(true);
  });

  it('audit-verify names the first altered row', async () => {
    await tamper(t, `UPDATE audit_events SET status = 404 WHERE seq = 3`);
    expect(await audit.verify()).toMatchObject({
      ok: false,
      checked: 2,
      broken: { seq: '3', problem: 'the row was altered: its hash does not match its content' },
    });
    await tamper(t, `UPDATE audit_events SET status = 200 WHERE seq = 3`);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('audit-verify names a removed row', async () => {
    await someEvents(2);
    await tamper(t, `DELETE FROM audit_events WHERE seq = 5`);
    expect(await audit.verify()).toMatchObject({ ok: false, checked: 4, broken: { seq: '6', problem: 'rows 5..5 are missing' } });
  });
});

describe('Audit trail: newest rows removed (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('audit-verify notices that the chain head is ahead of the newest row', async () => {
    const audit = t.app.get(AuditService);
    for (let i = 0; i < 3; i++) await audit.record({ action: 'read', status: 200 });
    const [{ max }] = await t.dataSource.query(`SELECT max(seq) AS max FROM audit_events`);
    await tamper(t, `DELETE FROM audit_events WHERE seq = $1`, [max]);
    const result = await audit.verify();
    expect(result).toMatchObject({ ok: false, broken: { seq: String(max), problem: `the newest rows after ${Number(max) - 1} are missing` } });
  });
});

describe('Audit trail: retention prune (e2e)', () => {
  let t: TestApp;
  let audit: AuditService;

  beforeAll(async () => {
    t = await createTestApp();
    audit = t.app.get(AuditService);
  });
  afterAll(() => t?.close());

  it('removes only rows older than the retention, records itself, and keeps the chain verifiable', async () => {
    for (let i = 0; i < 5; i++) await audit.record({ action: 'read', status: 200 });
    expect(await audit.prune(30)).toEqual({ removed: 0, throughSeq: null });
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_events WHERE action <> 'audit_pruned'`)).toEqual([{ n: 5 }]);

    await new Promise((r) => setTimeout(r, 20));
    // Retention 0 days would be "everything"; the smallest accepted is 1 day, so age the rows instead.
    await t.dataSource.transaction(async (m) => {
      await m.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable');
      await m.query(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_chain`);
      await m.query(`UPDATE audit_events SET at = at - interval '10 days' WHERE seq <= 3`);
      await m.query(`ALTER TABLE audit_events ENABLE TRIGGER audit_events_chain`);
      await m.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_immutable');
    });
    // Aging changed the content of rows 1-3 (their hashes no longer match), which the prune then removes.
    const result = await audit.prune(5);
    expect(result).toEqual({ removed: 3, throughSeq: '3' });
    const rows = await t.dataSource.query(`SELECT seq, action, reason FROM audit_events ORDER BY seq`);
    expect(rows.map((r: { seq: string }) => r.seq)).toEqual(['4', '5', '6', '7']);
    expect(rows[3]).toMatchObject({ action: 'audit_pruned', reason: expect.stringMatching(/^pruned-through:3:[0-9a-f]{64}$/) });

    await audit.record({ action: 'read', status: 200 });
    expect(await audit.verify()).toMatchObject({ ok: true, firstSeq: '4', lastSeq: '8', checked: 5 });
  });

  it('a DELETE outside the prune is still refused', async () => {
    const error = await t.dataSource.query(`DELETE FROM audit_events`).catch((e: unknown) => e);
    expect(sqlState(error)).toBe('42501');
  });
});

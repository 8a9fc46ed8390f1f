import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { QueryFailedError } from 'typeorm';
import { type ChainKeys, keyedLinkHash } from '../src/audit/audit-chain.js';
import { AuditChainRepository, SEAL_BATCH_SQL } from '../src/audit/audit-chain.repository.js';
import { AUDIT_CHAIN_KEYS, AuditChainService, SEAL_BATCH } from '../src/audit/audit-chain.service.js';
import { AuditSealer } from '../src/audit/audit-sealer.js';
import { AuditService } from '../src/audit/audit.service.js';
import { createTestApp, type TestApp } from './utils/app.js';

const sqlState = (error: unknown) => (error instanceof QueryFailedError ? (error.driverError as { code?: string }).code : undefined);

/** Runs `sql` with the append-only triggers off, as only a database owner could: a tampering. */
async function tamper(t: TestApp, sql: string, params: unknown[] = []): Promise<void> {
  await t.dataSource.transaction(async (m) => {
    await m.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable');
    await m.query('ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_guard');
    await m.query(sql, params);
    await m.query('ALTER TABLE audit_chain ENABLE TRIGGER audit_chain_guard');
    await m.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_immutable');
  });
}

/** The event sealed at a chain position. */
async function eventAt(t: TestApp, position: number | string): Promise<string> {
  const [row] = await t.dataSource.query(`SELECT event_seq FROM audit_chain WHERE position = $1`, [position]);
  return row.event_seq as string;
}


const chainOf = (t: TestApp) => t.app.get(AuditChainService);

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

  it('numbers and stamps each insert and queues it; the sealer chains the queue; the chain recomputed outside the database holds', async () => {
    await someEvents(8);
    // Written and queued; audit_seal() (the background sealer's statement) chains them in seq order.
    const pending = await t.dataSource.query('SELECT count(*)::int AS n FROM audit_pending');
    await chainOf(t).sealAll();
    expect(await t.dataSource.query('SELECT count(*)::int AS n FROM audit_pending')).toEqual([{ n: 0 }]);
    const rows = await t.dataSource.query(
      'SELECT c.position, c.event_seq, c.prev_hash, c.hash FROM audit_chain c ORDER BY c.position',
    );
    expect(rows.length).toBeGreaterThanOrEqual(8);
    expect(pending[0].n).toBeLessThanOrEqual(rows.length);
    expect(rows.map((r: { position: string }) => r.position)).toEqual(rows.map((_: unknown, i: number) => String(i + 1)));
    for (let i = 1; i < rows.length; i++) expect(Buffer.from(rows[i].prev_hash).equals(Buffer.from(rows[i - 1].hash))).toBe(true);
    const [head] = await t.dataSource.query('SELECT seq, hash FROM audit_chain_head');
    expect(head.seq).toBe(String(rows.length));
    expect(Buffer.from(head.hash).equals(Buffer.from(rows[rows.length - 1].hash))).toBe(true);
    const result = await chainOf(t).verify();
    expect(result).toMatchObject({ ok: true, checked: rows.length, first: '1', last: String(rows.length), pending: 0 });
  });

  it('the background sealer chains new events within a fraction of a second', async () => {
    await audit.record({ action: 'read', status: 200, resourceType: 'doctor' });
    const [{ seq }] = await t.dataSource.query('SELECT max(seq) AS seq FROM audit_events');
    let sealed: unknown[] = [];
    for (let i = 0; i < 50 && sealed.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      sealed = await t.dataSource.query('SELECT position FROM audit_chain WHERE event_seq = $1', [seq]);
    }
    expect(sealed).toHaveLength(1);
  });

  it('concurrent inserts are all chained once, without gaps', async () => {
    await chainOf(t).sealAll();
    const before = (await chainOf(t).verify()).checked;
    await Promise.all(Array.from({ length: 20 }, () => audit.record({ action: 'read', status: 200, resourceType: 'doctor' })));
    await chainOf(t).sealAll();
    expect(await chainOf(t).verify()).toMatchObject({ ok: true, checked: before + 20, pending: 0 });
  });

  it('refuses UPDATE, DELETE and TRUNCATE, and any change to the chain head', async () => {
    for (const sql of [
      `UPDATE audit_events SET status = 200 WHERE seq = 1`,
      `DELETE FROM audit_events WHERE seq = 1`,
      `TRUNCATE audit_events`,
      `UPDATE audit_chain_head SET seq = 1`,
      `DELETE FROM audit_chain_head`,
      `UPDATE audit_chain SET hash = prev_hash WHERE position = 1`,
      `DELETE FROM audit_chain WHERE position = 1`,
      `TRUNCATE audit_chain`,
      `INSERT INTO audit_chain (position, event_seq, prev_hash, hash) VALUES (999999, 999999, '', '')`,
      `INSERT INTO audit_pending (seq) VALUES (999999)`,
      `TRUNCATE audit_pending`,
    ]) {
      const error = await t.dataSource.query(sql).then(
        () => null,
        (e: unknown) => e,
      );
      expect({ sql, state: sqlState(error) }).toEqual({ sql, state: '42501' });
    }
    // The session flags the sealer and the prune once relied on open nothing: each step is checked on
    // its own (a link must extend the head with its event's hash, the head moves one link at a time,
    // the prune cannot reach the last day).
    const [{ max: newest }] = await t.dataSource.query(`SELECT max(position) AS max FROM audit_chain`);
    for (const sql of [
      `DELETE FROM audit_chain WHERE position = ${newest}`,
      `UPDATE audit_chain_head SET seq = seq + 1`,
      `UPDATE audit_chain_head SET seq = seq - 1, hash = (SELECT prev_hash FROM audit_chain WHERE position = ${newest})`,
      `DELETE FROM audit_events WHERE seq = (SELECT event_seq FROM audit_chain WHERE position = ${newest})`,
      `INSERT INTO audit_chain (position, event_seq, prev_hash, hash) VALUES (1, 424243, '', '')`,
    ]) {
      const error = await t.dataSource
        .transaction(async (m) => {
          await m.query(
            `SELECT set_config('hc.audit_sealing', 'on', true), set_config('hc.audit_prune_through', '9000000000', true),
                    set_config('hc.audit_prune_before', 'infinity', true)`,
          );
          await m.query(sql);
        })
        .catch((e: unknown) => e);
      expect({ sql, state: sqlState(error) }).toEqual({ sql, state: '42501' });
    }
    // The queue: a queued event cannot be taken out of it but by the sealer. (The event is recorded as the app
    // records one, so the number its rolled-back write took is accounted for: see test/audit-attacks.e2e.spec.ts.)
    const dequeued = await t.dataSource
      .transaction(async (m) => {
        await audit.record({ action: 'read', status: 200 }, m);
        await m.query(`DELETE FROM audit_pending`);
      })
      .catch((e: unknown) => e);
    expect(sqlState(dequeued)).toBe('42501');
    // Even a rolled-back attempt leaves the chain as it was.
    expect((await chainOf(t).verify()).ok).toBe(true);
  });

  it('audit-verify names the first altered event', async () => {
    const third = await eventAt(t, 3);
    await tamper(t, `UPDATE audit_events SET status = 404 WHERE seq = $1`, [third]);
    expect(await chainOf(t).verify()).toMatchObject({
      ok: false,
      checked: 2,
      broken: { position: '3', problem: 'the event was altered: the hash does not match its content' },
    });
    await tamper(t, `UPDATE audit_events SET status = 200 WHERE seq = $1`, [third]);
    expect((await chainOf(t).verify()).ok).toBe(true);
  });

  it('audit-verify names a removed event, and a removed link', async () => {
    await tamper(t, `DELETE FROM audit_events WHERE seq = $1`, [await eventAt(t, 5)]);
    expect(await chainOf(t).verify()).toMatchObject({ ok: false, checked: 4, broken: { position: '5', problem: 'the event this link seals is missing' } });
    await tamper(t, `DELETE FROM audit_chain WHERE position = 5`);
    expect(await chainOf(t).verify()).toMatchObject({ ok: false, checked: 4, broken: { position: '6', problem: 'links 5..5 are missing' } });
  });
});

describe('Audit trail: an event slipped in with the triggers off (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('audit-verify names it: it is neither sealed nor queued', async () => {
    const audit = t.app.get(AuditService);
    await audit.record({ action: 'read', status: 200 });
    await t.dataSource.transaction(async (m) => {
      await m.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_stamp');
      await m.query(`INSERT INTO audit_events (seq, at, action, status) VALUES (424242, now(), 'read', 200)`);
      await m.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_stamp');
    });
    await chainOf(t).sealAll();
    expect(await chainOf(t).verify()).toMatchObject({
      ok: false,
      checked: 1,
      broken: { position: '-', problem: 'event 424242 is neither sealed nor queued for sealing' },
    });
  });
});

describe('Audit trail: links are placed by the database, keyed by the app (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('a hand-made link in the wrong place is refused; one in the right place with a forged hash is caught by audit-verify', async () => {
    const audit = t.app.get(AuditService);
    await audit.record({ action: 'read', status: 200 });
    await chainOf(t).sealAll();
    // Stop the background sealer: the hand-made link must be the next one.
    await t.app.get(AuditSealer).onApplicationShutdown();
    await audit.record({ action: 'list', status: 200 });
    const [{ seq }] = await t.dataSource.query(`SELECT max(seq) AS seq FROM audit_events`);
    const [head] = await t.dataSource.query(`SELECT seq, hash FROM audit_chain_head`);
    const misplaced = await t.dataSource
      .query(`INSERT INTO audit_chain (position, event_seq, prev_hash, hash) VALUES (99, $1, $2, $2)`, [seq, head.hash])
      .catch((e: unknown) => e);
    expect(sqlState(misplaced)).toBe('42501');
    const unchained = await t.dataSource
      .query(`INSERT INTO audit_chain (position, event_seq, prev_hash, hash) VALUES (2, $1, '\\x00', $2)`, [seq, head.hash])
      .catch((e: unknown) => e);
    expect(sqlState(unchained)).toBe('42501');
    // The right place, chained to the head: the database cannot tell a forged hash (it has no key); audit-verify can.
    await t.dataSource.query(`INSERT INTO audit_chain (position, event_seq, prev_hash, hash) VALUES (2, $1, $2, sha256($2))`, [
      seq,
      head.hash,
    ]);
    expect(await t.dataSource.query(`SELECT seq FROM audit_chain_head`)).toEqual([{ seq: '2' }]);
    expect(await chainOf(t).verify()).toMatchObject({
      ok: false,
      checked: 1,
      broken: { position: '2', problem: 'the event was altered: the hash does not match its content' },
    });
  });

});

describe('Audit trail: a queued event deleted (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('an event deleted while queued (triggers off) is reported, and does not stop the sealing', async () => {
    const audit = t.app.get(AuditService);
    await chainOf(t).sealAll();
    await t.dataSource.transaction(async (m) => {
      await m.query(`INSERT INTO audit_events (action, status) VALUES ('read', 200)`);
      await m.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable');
      await m.query(`DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_pending)`);
      await m.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_immutable');
    });
    await audit.record({ action: 'list', status: 200 });
    expect(await chainOf(t).seal()).toBe(1);
    expect(await chainOf(t).verify()).toMatchObject({ ok: false, broken: { problem: expect.stringMatching(/^event \d+ was queued for sealing and is missing$/) } });
  });
});

describe('Audit trail: newest rows removed (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('audit-verify notices that the chain head is ahead of the newest link', async () => {
    const audit = t.app.get(AuditService);
    for (let i = 0; i < 3; i++) await audit.record({ action: 'read', status: 200 });
    await chainOf(t).sealAll();
    const [{ max }] = await t.dataSource.query(`SELECT max(position) AS max FROM audit_chain`);
    await tamper(t, `DELETE FROM audit_events WHERE seq = (SELECT event_seq FROM audit_chain WHERE position = $1)`, [max]);
    await tamper(t, `DELETE FROM audit_chain WHERE position = $1`, [max]);
    const result = await chainOf(t).verify();
    expect(result).toMatchObject({ ok: false, broken: { position: String(max), problem: `the newest links after ${Number(max) - 1} are missing` } });
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

  it('removes only events older than the retention, with their links, records itself, and keeps the chain verifiable', async () => {
    for (let i = 0; i < 5; i++) await audit.record({ action: 'read', status: 200 });
    await chainOf(t).sealAll();
    expect(await chainOf(t).prune(30)).toEqual({ removed: 0, throughPosition: null });
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_events WHERE action <> 'audit_pruned'`)).toEqual([{ n: 5 }]);

    await new Promise((r) => setTimeout(r, 20));
    // Retention 0 days would be "everything"; the smallest accepted is 1 day, so age the first three instead.
    await t.dataSource.transaction(async (m) => {
      await m.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable');
      await m.query(
        `UPDATE audit_events SET at = at - interval '10 days' WHERE seq IN (SELECT event_seq FROM audit_chain WHERE position <= 3)`,
      );
      await m.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_immutable');
    });
    // Aging changed the content of events 1-3 (their hashes no longer match), which the prune then removes.
    const result = await chainOf(t).prune(5);
    expect(result).toEqual({ removed: 3, throughPosition: '3' });
    await chainOf(t).sealAll();
    const links = await t.dataSource.query(
      `SELECT c.position, e.action, e.reason FROM audit_chain c JOIN audit_events e ON e.seq = c.event_seq ORDER BY c.position`,
    );
    expect(links.map((r: { position: string }) => r.position)).toEqual(['4', '5', '6', '7']);
    expect(links[3]).toMatchObject({ action: 'audit_pruned', reason: expect.stringMatching(/^pruned-through:3:[0-9a-f]{64}$/) });
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_events`)).toEqual([{ n: 4 }]);

    await audit.record({ action: 'read', status: 200 });
    await chainOf(t).sealAll();
    expect(await chainOf(t).verify()).toMatchObject({ ok: true, first: '4', last: '8', checked: 5 });
  });

  it('a DELETE outside the prune is still refused', async () => {
    const error = await t.dataSource.query(`DELETE FROM audit_events`).catch((e: unknown) => e);
    expect(sqlState(error)).toBe('42501');
  });
});

describe('Audit chain head: moved once per sealing statement (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    // Links are placed by hand below: the background sealer must not race them.
    await t.app.get(AuditSealer).onApplicationShutdown();
  });
  afterAll(() => t?.close());

  /** The links the sealer would append for the queued events, in one list. */
  const nextLinks = async () => {
    const keys = t.app.get<ChainKeys>(AUDIT_CHAIN_KEYS);
    const { head, events } = await t.app.get(AuditChainRepository).findSealBatch(100);
    let prev = head.hash;
    return events.map((e, i) => {
      const position = String(BigInt(head.position) + BigInt(i + 1));
      const hash = keyedLinkHash(keys, prev, position, e);
      const link = { position, eventSeq: String(e.seq), prevHash: prev, hash, kind: 'event' as const };
      prev = hash;
      return link;
    });
  };

  it('six links in one statement: each checked against the one before it, the head updated once, onto the last', async () => {
    for (let i = 0; i < 6; i++) await t.app.get(AuditService).record({ action: 'read', status: 200, resourceType: 'doctor' });
    const links = await nextLinks();
    expect(links).toHaveLength(6);
    const updates = await t.dataSource.transaction(async (m) => {
      // Counted by this transaction so far (PGlite's one session may carry counts from before: compare).
      const count = async () =>
        ((await m.query(`SELECT pg_stat_get_xact_tuples_updated('audit_chain_head'::regclass)::int AS n`))[0]?.n ?? 0) as number;
      const before = await count();
      await t.app.get(AuditChainRepository).insertLinks(links, m);
      return (await count()) - before;
    });
    expect(updates).toBe(1);
    const [head] = await t.dataSource.query(`SELECT seq, hash FROM audit_chain_head`);
    expect(head.seq).toBe(links[5].position);
    expect(Buffer.from(head.hash).equals(links[5].hash)).toBe(true);
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_pending`)).toEqual([{ n: 0 }]);
    expect(await chainOf(t).verify()).toMatchObject({ ok: true, pending: 0 });
  });

  it('a statement whose third link skips a position, or chains to the wrong hash, places none of its links', async () => {
    for (let i = 0; i < 4; i++) await t.app.get(AuditService).record({ action: 'read', status: 200, resourceType: 'doctor' });
    const links = await nextLinks();
    const [before] = await t.dataSource.query(`SELECT seq FROM audit_chain_head`);
    const skipped = links.map((l, i) => (i === 2 ? { ...l, position: String(BigInt(l.position) + 1n) } : l));
    const misChained = links.map((l, i) => (i === 2 ? { ...l, prevHash: links[0].hash } : l));
    for (const attempt of [skipped, misChained]) {
      const error = await t.app.get(AuditChainRepository).insertLinks(attempt).catch((e: unknown) => e);
      expect(sqlState(error)).toBe('42501');
      expect(await t.dataSource.query(`SELECT seq FROM audit_chain_head`)).toEqual([before]);
      expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_pending`)).toEqual([{ n: 4 }]);
    }
    await t.app.get(AuditChainRepository).insertLinks(links);
    expect(await chainOf(t).verify()).toMatchObject({ ok: true, pending: 0 });
  });

  it('a tick reads its queued events by primary key, never by scanning the whole trail', async () => {
    await t.dataSource.query(`INSERT INTO audit_events (action, status, resource_type) SELECT 'read', 200, 'doctor' FROM generate_series(1, 20000)`);
    await t.dataSource.query('ANALYZE audit_events, audit_pending');
    const plan = ((await t.dataSource.query(`EXPLAIN ${SEAL_BATCH_SQL}`, [SEAL_BATCH])) as Array<{ 'QUERY PLAN': string }>)
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    expect(plan).not.toMatch(/Seq Scan on audit_events/);
    expect(plan).toMatch(/Index (Only )?Scan using audit_events_pkey/);
    expect(await chainOf(t).sealAll()).toBe(20000);
  });

  it('the head cannot be moved by hand, not even onto the newest link', async () => {
    const error = await t.dataSource
      .query(`UPDATE audit_chain_head SET seq = seq + 0, hash = hash WHERE id = 1`)
      .catch((e: unknown) => e);
    expect(sqlState(error)).toBe('42501');
  });
});

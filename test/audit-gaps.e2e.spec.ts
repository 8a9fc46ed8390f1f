import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { runAuditCommand } from '../src/audit/audit-cli.js';
import { AuditChainService, GapAcknowledgementRefused } from '../src/audit/audit-chain.service.js';
import { AuditService } from '../src/audit/audit.service.js';
import { RefusalWriter } from '../src/audit/refusal-writer.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { asSuperuser } from './utils/superuser.js';

/**
 * Numbers taken without an event must not make audit-verify cry wolf
 * (issue 11, item 3): a refusal batch that fails to commit is marked
 * rolled_back; numbers a PostgreSQL crash skipped are acknowledged by an
 * operator with keyed marks and an audit event saying who and why.
 */

const chainOf = (t: TestApp) => t.app.get(AuditChainService);
const kinds = async (t: TestApp) =>
  ((await t.dataSource.query(`SELECT kind, count(*)::int AS n FROM audit_chain GROUP BY kind ORDER BY kind`)) as Array<{
    kind: string;
    n: number;
  }>).reduce<Record<string, number>>((all, row) => ({ ...all, [row.kind]: row.n }), {});

/** Runs a CLI audit command in the test app; returns its exit code and what it printed. */
async function cli(t: TestApp, command: 'audit-verify' | 'audit-acknowledge-gap', args: string[] = []) {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    const code = await runAuditCommand(t.app, t.config, command, args);
    return { code, output: lines.join('') };
  } finally {
    spy.mockRestore();
  }
}

describe('Audit numbering: a refusal batch that fails to commit (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('its numbers are marked rolled_back, and audit-verify stays intact', async () => {
    // A database-level fault: a deferred constraint trigger refuses, at commit, any refusal row for the doctors' list.
    await asSuperuser(t, async (q) => {
      await q(`CREATE FUNCTION test_refusal_fault() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN RAISE EXCEPTION 'forced fault for the test'; END $$`);
      await q(`CREATE CONSTRAINT TRIGGER test_refusal_fault AFTER INSERT ON audit_events DEFERRABLE INITIALLY DEFERRED
               FOR EACH ROW WHEN (NEW.route LIKE 'GET /api/doctors%') EXECUTE FUNCTION test_refusal_fault()`);
    });
    const writer = t.app.get(RefusalWriter);
    // Anonymous 401s, each aggregated by client, route and minute, and written by the exception filter's recorder.
    for (const path of ['/api/patients/', '/api/patients/']) expect((await t.http.get(path)).status).toBe(401);
    await writer.flush();
    expect(writer.stats().lost).toBe(0);
    for (const path of ['/api/doctors/', '/api/doctors/', '/api/doctors/']) expect((await t.http.get(path)).status).toBe(401);
    await writer.flush();
    // The failed batch: one aggregated row standing for three refusals, lost (and counted as lost).
    expect(writer.stats().lost).toBe(3);

    const [{ last }] = await t.dataSource.query(`SELECT last_value::text AS last FROM audit_events_seq_seq`);
    await t.app.get(AuditService).record({ action: 'read', status: 200 });
    await chainOf(t).sealAll();
    const result = await chainOf(t).verify();
    expect(result).toMatchObject({ ok: true, acknowledged: [] });
    expect(result.broken).toBeUndefined();
    expect(await kinds(t)).toEqual({ event: 2, rolled_back: 1 });
    // The mark is for the number the failed batch took.
    expect(await t.dataSource.query(`SELECT event_seq::text AS seq FROM audit_chain WHERE kind = 'rolled_back'`)).toEqual([{ seq: last }]);
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_events WHERE route LIKE 'GET /api/doctors%'`)).toEqual([{ n: 0 }]);
  });
});

describe('Audit numbering: numbers a crash skipped, acknowledged by an operator (e2e)', () => {
  let t: TestApp;
  let from: string;
  let to: string;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('audit-verify reports the skipped numbers until they are acknowledged, then lists them', async () => {
    const audit = t.app.get(AuditService);
    await audit.record({ action: 'read', status: 200 });
    // What a crash does: the sequence comes back up to 32 values further on (they were WAL-logged ahead).
    const [{ before }] = (await asSuperuser(t, (q) =>
      q(`SELECT setval('audit_events_seq_seq', last_value + 32)::text AS before FROM audit_events_seq_seq`),
    )) as Array<{ before: string }>;
    to = before;
    from = (BigInt(before) - 31n).toString();
    await audit.record({ action: 'read', status: 200 });

    const broken = await cli(t, 'audit-verify');
    expect(broken.code).toBe(1);
    expect(broken.output).toContain(`Audit trail BROKEN at event ${from}: event numbers ${from}..${to} were taken and nothing accounts for it`);
    expect(broken.output).toContain(`audit-acknowledge-gap --from ${from} --to ${to}`);

    const ack = await cli(t, 'audit-acknowledge-gap', ['--from', from, '--to', to, '--reason', 'PostgreSQL crash, incident 4711', '--by', 'ops-alice']);
    expect(ack).toEqual({
      code: 0,
      output: `Acknowledged event numbers ${from}..${to} as lost (32 keyed marks), by ops-alice; recorded in the audit trail.\n`,
    });
    expect(await kinds(t)).toMatchObject({ acknowledged: 32 });
    // Who, when and why: an audit event of its own, sealed into the chain like any other.
    const events = await t.dataSource.query(`SELECT action, resource_type, actor_id, reason FROM audit_events WHERE reason LIKE 'acknowledged-gap:%'`);
    expect(events).toEqual([
      { action: 'update', resource_type: 'audit_event', actor_id: null, reason: `acknowledged-gap:${from}..${to} by ops-alice: PostgreSQL crash, incident 4711` },
    ]);

    const intact = await cli(t, 'audit-verify');
    expect(intact.code).toBe(0);
    expect(intact.output).toMatch(/^Audit trail intact: \d+ events checked/);
    expect(intact.output).toContain(`Acknowledged as lost (keyed marks, not events): numbers ${from}..${to}.`);
    expect(intact.output).toContain(`acknowledged-gap:${from}..${to} by ops-alice: PostgreSQL crash, incident 4711`);
    expect(await chainOf(t).verify()).toMatchObject({ ok: true, acknowledged: [{ from, to }] });
  });

  it('refuses a range that includes a real event, or an acknowledged number, or one not given out: nothing is written', async () => {
    const chain = chainOf(t);
    const [{ real }] = await t.dataSource.query(`SELECT max(seq)::text AS real FROM audit_events WHERE action = 'read'`);
    const [{ last }] = await t.dataSource.query(`SELECT last_value::text AS last FROM audit_events_seq_seq`);
    const linksBefore = await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_chain`);
    const eventsBefore = await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_events`);
    const attempt = (a: string, b: string, reason = 'crash') => chain.acknowledgeGap(a, b, reason, 'ops-alice');

    await expect(attempt(real, real)).rejects.toThrow(new GapAcknowledgementRefused(
      `not a gap: something accounts for number(s) ${real} (an event or a mark); nothing was acknowledged`,
    ));
    const next = (n: string, k: bigint) => (BigInt(n) + k).toString();
    await expect(attempt(from, to)).rejects.toThrow(
      `not a gap: something accounts for number(s) ${from}, ${next(from, 1n)}, ${next(from, 2n)}, ${next(from, 3n)}, ${next(from, 4n)}, … (32 in all)`,
    );
    const beyond = (BigInt(last) + 1n).toString();
    await expect(attempt(beyond, beyond)).rejects.toThrow(`number ${beyond} has not been given out yet`);
    await expect(attempt('0', '3')).rejects.toThrow('--from and --to must be positive whole numbers');
    await expect(attempt('5', '3')).rejects.toThrow('--from must not be greater than --to');
    await expect(attempt('1', '1', '  ')).rejects.toThrow('--reason must say why');
    const refused = await cli(t, 'audit-acknowledge-gap', ['--from', real, '--to', real, '--reason', 'crash']);
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/^Refused: not a gap/);

    await chain.sealAll();
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_chain`)).toEqual(linksBefore);
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM audit_events`)).toEqual(eventsBefore);
  });

  it('a mark written with only the database (no key) is caught', async () => {
    const audit = t.app.get(AuditService);
    await asSuperuser(t, (q) => q(`SELECT setval('audit_events_seq_seq', last_value + 1) FROM audit_events_seq_seq`));
    await audit.record({ action: 'read', status: 200 });
    await chainOf(t).sealAll();
    const [{ gap }] = await t.dataSource.query(`SELECT (max(seq) - 1)::text AS gap FROM audit_events`);
    // Well placed (the trigger accepts it) but its hash is not the keyed one.
    const [{ position }] = (await asSuperuser(t, (q) =>
      q(
        `INSERT INTO audit_chain (position, event_seq, prev_hash, hash, kind)
         SELECT seq + 1, $1, hash, $2, 'acknowledged' FROM audit_chain_head RETURNING position::text`,
        [gap, randomBytes(32)],
      ),
    )) as Array<{ position: string }>;
    expect(await chainOf(t).verify()).toMatchObject({ ok: false, broken: { position, problem: 'the link was altered: its hash does not match' } });
  });
});

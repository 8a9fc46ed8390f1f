import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { QUERY_DEADLINE_MS } from '../src/database/data-source-options.js';
import { CONSISTENCY_TOKEN_HEADER } from '../src/database/read-consistency.js';
import { type ReplicaReport, ReplicaSet } from '../src/database/replicas.js';
import { parseLsn } from '../src/database/lsn.js';
import { PgCluster } from './faults/utils/cluster.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { createPatient, createUser, type TestUser } from './utils/factories.js';
import { expectProblem } from './utils/problem.js';

/** Polls `probe` every 20 ms until it returns true or `limitMs` pass; whether it did. */
async function eventually(probe: () => Promise<boolean> | boolean, limitMs = 10_000): Promise<boolean> {
  const start = Date.now();
  while (Date.now() - start < limitMs) {
    if (await probe()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

async function replicaReports(t: TestApp): Promise<ReplicaReport[]> {
  const res = await t.http.get('/health/ready');
  expect(res.status).toBe(200);
  return (res.body as { info: { replicas: { replicas: ReplicaReport[] } } }).info.replicas.replicas;
}

async function namesListed(t: TestApp, user: TestUser, token?: string): Promise<string[]> {
  const res = await t.http.get('/api/patients/?page_size=100', {
    token: user.access,
    headers: token ? { [CONSISTENCY_TOKEN_HEADER]: token } : {},
  });
  expect(res.status).toBe(200);
  return (res.body as { results: Array<{ name: string }> }).results.map((p) => p.name);
}

// On either database: the token's form is checked, and without replicas a write carries none.
describe('Consistency tokens without replicas (e2e)', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = await createTestApp();
    user = await createUser(t.http);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a write answers without a token: every read is on the primary', async () => {
    const res = await t.http.post('/api/patients/', { name: 'No Replica', age: 30, gender: 'male', address: 'x' }, { token: user.access });
    expect(res.status).toBe(201);
    expect(res.headers.get(CONSISTENCY_TOKEN_HEADER)).toBeNull();
  });

  it.each(['', 'abc', '0/', '1/2/3', 'G/0', '123456789/0', '0/3000148; drop'])('a malformed token (%j) is a 400 naming the header', async (token) => {
    const res = await t.http.get('/api/patients/', { token: user.access, headers: { [CONSISTENCY_TOKEN_HEADER]: token } });
    expectProblem(res, 400, [CONSISTENCY_TOKEN_HEADER]);
  });

  it('a well-formed token is accepted (any position: the primary has everything)', async () => {
    const res = await t.http.get('/api/patients/', { token: user.access, headers: { [CONSISTENCY_TOKEN_HEADER]: 'FFFFFFFF/FFFFFFFF' } });
    expect(res.status).toBe(200);
  });
});

// A primary and a real streaming standby of their own (pg_basebackup -R), on PostgreSQL runs only.
if (process.env.TEST_DATABASE_URL) describe('Reads on a streaming replica (e2e, PostgreSQL)', () => {
  let primary: PgCluster;
  let standby: PgCluster;
  /** Allows a page up to a minute stale: a paused replica keeps serving, which shows where a read went. */
  let lenient: TestApp;
  /** Allows 300 ms. */
  let strict: TestApp;
  let alice: TestUser;

  beforeAll(async () => {
    primary = await PgCluster.create();
    standby = await primary.createStandby();
    const replicas = `${standby.appUrl},${primary.appUrl}`;
    lenient = await createTestApp({ DATABASE_URL: primary.appUrl, DATABASE_REPLICA_URLS: replicas, REPLICA_MAX_LAG_MS: '60000' });
    strict = await createTestApp({ DATABASE_URL: primary.appUrl, DATABASE_REPLICA_URLS: standby.appUrl, REPLICA_MAX_LAG_MS: '300' });
    alice = await createUser(lenient.http);
    // The migrations and the first rows have reached the standby, and both apps count it as up.
    for (const t of [lenient, strict]) {
      expect(await eventually(async () => (await replicaReports(t)).some((r) => r.status === 'up'))).toBe(true);
    }
  }, 120_000);
  afterAll(async () => {
    await standby?.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
    await lenient?.close();
    await strict?.close();
    await standby?.destroy();
    await primary?.destroy();
  });

  it('/health/ready shows each replica, and one that is not a standby (the primary itself) is never used', async () => {
    const reports = await replicaReports(lenient);
    expect(reports).toHaveLength(2);
    expect(reports[0]).toMatchObject({ name: `127.0.0.1:${standby.port}/healthcare`, status: 'up' });
    expect(parseLsn(reports[0].replayed ?? '')).toBeDefined();
    expect(reports[1]).toMatchObject({ name: `127.0.0.1:${primary.port}/healthcare`, status: 'not_standby', replayed: null });
  });

  it('a write answers with the primary position after its commit; a list with that token shows the write at once, on any instance', async () => {
    await standby.query('SELECT pg_wal_replay_pause()');
    try {
      const res = await lenient.http.post('/api/patients/', { name: 'Written Now', age: 30, gender: 'male', address: 'x' }, { token: alice.access });
      expect(res.status).toBe(201);
      const token = res.headers.get(CONSISTENCY_TOKEN_HEADER) ?? '';
      const [{ position }] = await primary.query<{ position: string }>('SELECT pg_current_wal_lsn()::text AS position');
      expect(parseLsn(token)).toBeDefined();
      expect(parseLsn(token)! <= parseLsn(position)!).toBe(true);
      // The paused replica has not replayed the create: without the token a page may come from it (within the
      // minute this app allows), and does; with the token it comes from the primary, on either instance.
      expect(await namesListed(lenient, alice)).not.toContain('Written Now');
      expect(await namesListed(lenient, alice, token)).toContain('Written Now');
      expect(await namesListed(strict, alice, token)).toContain('Written Now');
    } finally {
      await standby.query('SELECT pg_wal_replay_resume()');
    }
  });

  it('once the replica has replayed past a token, it serves that token\'s reads', async () => {
    const res = await lenient.http.post('/api/patients/', { name: 'Replayed Later', age: 31, gender: 'female', address: 'x' }, { token: alice.access });
    const position = parseLsn(res.headers.get(CONSISTENCY_TOKEN_HEADER) ?? '');
    expect(position).toBeDefined();
    const set = lenient.app.get(ReplicaSet);
    expect(await eventually(() => set.pick(position)?.name === `127.0.0.1:${standby.port}/healthcare`)).toBe(true);
    expect(await namesListed(lenient, alice, res.headers.get(CONSISTENCY_TOKEN_HEADER)!)).toContain('Replayed Later');
  });

  it('a replica further behind than REPLICA_MAX_LAG_MS is skipped: reads without a token see the primary', async () => {
    await standby.query('SELECT pg_wal_replay_pause()');
    try {
      await createPatient(strict.http, alice.access, { name: 'While Paused' });
      // The primary keeps moving (audit events), the replica does not: past 300 ms it is lagging.
      expect(await eventually(async () => (await replicaReports(strict))[0].status === 'lagging')).toBe(true);
      expect((await replicaReports(strict))[0].lag_ms).toBeGreaterThan(300);
      expect(await namesListed(strict, alice)).toContain('While Paused');
    } finally {
      await standby.query('SELECT pg_wal_replay_resume()');
    }
    expect(await eventually(async () => (await replicaReports(strict))[0].status === 'up')).toBe(true);
  });

  it('the audit event of a read served by the replica is written on the primary', async () => {
    const before = await primary.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_events WHERE action = 'list' AND actor_id = $1`, [alice.id]);
    expect(await namesListed(lenient, alice)).toBeDefined();
    expect(
      await eventually(async () => {
        const [{ n }] = await primary.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_events WHERE action = 'list' AND actor_id = $1`, [alice.id]);
        return n === before[0].n + 1;
      }),
    ).toBe(true);
  });

  it('a stopped replica: reads answer from the primary, /health/ready stays 200 and shows it down; started again, it serves again', async () => {
    await standby.stop('fast');
    try {
      await createPatient(lenient.http, alice.access, { name: 'Replica Stopped' });
      for (let i = 0; i < 5; i++) expect(await namesListed(lenient, alice)).toContain('Replica Stopped');
      expect(await eventually(async () => (await replicaReports(lenient))[0].status === 'down')).toBe(true);
    } finally {
      await standby.start();
    }
    expect(await eventually(async () => (await replicaReports(lenient))[0].status === 'up', 20_000)).toBe(true);
    expect(lenient.app.get(ReplicaSet).pick(undefined)?.name).toBe(`127.0.0.1:${standby.port}/healthcare`);
  }, 60_000);

  it('a frozen replica (SIGSTOP): every read still answers 200 within the query deadline, from the primary', async () => {
    standby.freeze();
    try {
      const writes = await createPatient(lenient.http, alice.access, { name: 'Replica Frozen' });
      expect(writes.id).toBeDefined();
      for (let i = 0; i < 8; i++) {
        const start = performance.now();
        expect(await namesListed(lenient, alice)).toContain('Replica Frozen');
        // The contract: a replica never makes a read wait past the deadline a request has on the primary.
        expect(performance.now() - start).toBeLessThan(QUERY_DEADLINE_MS);
      }
      expect((await replicaReports(lenient))[0].status).toBe('down');
    } finally {
      standby.thaw();
    }
    expect(await eventually(async () => (await replicaReports(lenient))[0].status === 'up', 20_000)).toBe(true);
  }, 60_000);
});

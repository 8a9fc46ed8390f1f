import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SEALER_LOCK_KEY, AuditSealer } from '../src/audit/audit-sealer.js';
import { LEASE_RETRY_MS } from '../src/database/advisory-lease.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { createPatient, createUser } from './utils/factories.js';

/** Polls every 20 ms until `probe` is true; whether it was within `limitMs`. */
async function eventually(probe: () => Promise<boolean> | boolean, limitMs: number): Promise<boolean> {
  const start = Date.now();
  while (Date.now() - start < limitMs) {
    if (await probe()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

const sealing = (t: TestApp) => t.app.get(AuditSealer).sealing;

/** Events written and not sealed yet. */
async function pending(t: TestApp): Promise<number> {
  const [{ n }] = (await t.dataSource.query('SELECT count(*)::int AS n FROM audit_pending')) as Array<{ n: number }>;
  return n;
}

// On either database: the one instance seals (on PGlite the lease is always its own).
describe('The audit sealer\'s lease (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a single instance holds the lease and seals what requests write', async () => {
    expect(sealing(t)).toBe(true);
    const user = await createUser(t.http);
    await createPatient(t.http, user.access);
    expect(await eventually(async () => (await pending(t)) === 0, 5000)).toBe(true);
  });
});

// Two instances on one database: PostgreSQL only.
if (process.env.TEST_DATABASE_URL) {
  describe('One instance seals at a time (e2e, PostgreSQL)', () => {
    let a: TestApp;
    let b: TestApp;
    let aClosed = false;

    beforeAll(async () => {
      a = await createTestApp();
      b = await createTestApp({ DATABASE_URL: a.db.env.DATABASE_URL });
    });
    afterAll(async () => {
      await b?.close();
      if (!aClosed) await a?.app.close();
      await a?.db.drop();
    });

    const holders = async (t: TestApp) => {
      const rows = (await t.dataSource.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = $1 AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [SEALER_LOCK_KEY],
      )) as Array<{ n: number }>;
      return rows[0].n;
    };

    it('exactly one of the two holds the lease, and events written through either are sealed', async () => {
      expect(await eventually(() => sealing(a) !== sealing(b), 3 * LEASE_RETRY_MS)).toBe(true);
      expect(await holders(a)).toBe(1);
      const user = await createUser(a.http);
      await createPatient(a.http, user.access);
      await createPatient(b.http, user.access);
      expect(await eventually(async () => (await pending(a)) === 0, 5000)).toBe(true);
    });

    it('when the holder stops, the other takes over within a few seconds and seals what follows', async () => {
      const [holder, other] = sealing(a) ? [a, b] : [b, a];
      expect(sealing(other)).toBe(false);
      const user = await createUser(other.http);
      if (holder === a) {
        await a.app.close();
        aClosed = true;
      } else {
        await b.app.close();
      }
      // The waiter tries every LEASE_RETRY_MS: a stopped holder's lease is free at once.
      expect(await eventually(() => sealing(other), 3 * LEASE_RETRY_MS)).toBe(true);
      expect(await holders(other)).toBe(1);
      await createPatient(other.http, user.access);
      expect(await eventually(async () => (await pending(other)) === 0, 5000)).toBe(true);
      if (holder === b) {
        // b's app is closed; its own (unused) database is dropped here, its close() would close the app again.
        await b.db.drop();
        b = undefined as unknown as TestApp;
      }
    });
  });
}

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppProcess } from './utils/app-process.js';
import { PgCluster } from './utils/cluster.js';
import { at, Checks, report, sized, summarize } from './utils/figures.js';
import { now, sleep, succeeded } from './utils/http.js';
import { buildWorld, checkWrites, Load, writeOps } from './utils/load.js';

const RATE = 50;
const CRASHES = sized(1, 3);
const WRITE_MS = sized(4_000, 8_000);
const DOWN_MS = 2_000;
const AFTER_MS = sized(5_000, 8_000);

describe('Crash: pg_ctl stop -m immediate under write load', () => {
  let cluster: PgCluster;
  let app: AppProcess;

  beforeAll(async () => {
    cluster = await PgCluster.create();
    app = await AppProcess.start(cluster.appUrl);
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await cluster?.destroy();
  });

  it(
    `every acknowledged write survives ${CRASHES} crash(es) and the recovery`,
    async () => {
      const world = await buildWorld(app.client);
      const load = new Load(app.client, RATE, writeOps(world)).start();
      const crashes: { crashedAt: number; recoveryMs: number }[] = [];
      const t0 = now();

      for (let c = 0; c < CRASHES; c++) {
        await sleep(WRITE_MS);
        const crashedAt = now();
        await cluster.stop('immediate');
        await sleep(DOWN_MS);
        const startIssued = now();
        await cluster.start();
        crashes.push({ crashedAt, recoveryMs: at(now(), startIssued) });
        await sleep(AFTER_MS);
      }

      const outcomes = await load.stop();
      const writes = await checkWrites(cluster, outcomes);
      // The writes acknowledged just before a crash are the ones a lost commit would take with it.
      const lastSecond = outcomes.filter(
        (o) => o.status === 201 && crashes.some((c) => o.end <= c.crashedAt && o.end > c.crashedAt - 1000),
      );

      const checks = new Checks();
      checks.add('every create answered 201 is in the database after recovery', writes.missing.length === 0, {
        missing: writes.missing.length,
        first: writes.missing.slice(0, 5),
      });

      const failures = outcomes.filter((o) => !succeeded(o));
      report(`crash: ${CRASHES} x pg_ctl stop -m immediate under ${RATE} writes/s`, {
        ...summarize(outcomes),
        writesAcknowledged: writes.acknowledged,
        writesFound: writes.found,
        writesMissing: writes.missing.length,
        writesNotAcknowledged: writes.unacknowledged,
        // Legitimate after a crash: committed, but the answer was lost with the connection.
        storedWithout201: writes.storedWithout201.length,
        acknowledgedInTheSecondBeforeACrash: lastSecond.length,
        crashes: crashes.map((c) => ({ atMs: at(c.crashedAt, t0), recoveryMs: c.recoveryMs })),
        failuresNot503: failures.filter((o) => o.status !== 503).length,
        appStayedUp: app.running,
        checks: checks.summary,
      });
      if (checks.failed.length) process.stdout.write(`${app.logReport()}server log:\n${cluster.logTail(10)}\n`);
      expect(checks.failed).toEqual([]);
    },
    sized(120_000, 180_000),
  );
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppProcess } from './utils/app-process.js';
import { PgCluster } from './utils/cluster.js';
import { at, Checks, report, sample, sized, summarize } from './utils/figures.js';
import { duration, now, Prober, sleep, succeeded } from './utils/http.js';
import { buildWorld, checkWrites, keyedCreates, Load, mixedOps } from './utils/load.js';

const RATE = 50;
const OUTAGE_MS = 15_000;
const BEFORE_MS = sized(3_000, 10_000);
/** After the restart: 5 s to recover, then the window in which 99% must succeed. */
const AFTER_MS = sized(10_000, 20_000);

describe('Outage: PostgreSQL stopped (pg_ctl -m fast) for 15 s under load', () => {
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
    'stays up, answers 503 fast while the database is down, recovers by itself, and loses no acknowledged write',
    async () => {
      const world = await buildWorld(app.client);
      const pid = app.pid;
      const ready = new Prober(app.client, '/health/ready', 100);
      const live = new Prober(app.client, '/health', 250);
      const load = new Load(app.client, RATE, mixedOps(world)).start();
      // Beside the load, a client that retries each create under its Idempotency-Key until a 201; every third create's
      // first answer is lost (the connection closed once the request is sent).
      const retrying = keyedCreates(app.client, world.users[0].token, 100, { dropEvery: 3 });

      await sleep(BEFORE_MS);
      const stopIssued = now();
      await cluster.stop('fast');
      const stopped = now();
      await sleep(OUTAGE_MS - (now() - stopIssued));
      const startIssued = now();
      await cluster.start();
      const restarted = now();
      await sleep(AFTER_MS);

      const outcomes = await load.stop();
      const keyed = await retrying.stop(30_000);
      const [keyedRows] = await cluster.query<{ n: number; names: number }>(
        'SELECT count(*)::int AS n, count(DISTINCT name)::int AS names FROM patients WHERE name LIKE $1',
        [`Keyed ${keyed.tag} %`],
      );
      const readiness = await ready.stop();
      const liveness = await live.stop();
      const writes = await checkWrites(cluster, outcomes);

      const checks = new Checks();
      checks.add('the process stayed up (same pid, never exited)', app.running && app.pid === pid, app.exit ?? null);

      const liveBad = liveness.filter((o) => o.status !== 200);
      checks.add('/health answered 200 throughout', liveBad.length === 0, sample(liveBad, stopIssued));

      // Readiness: the first 503 within 2 s of the stop (pg_ctl stop issued), then 503 until the restart.
      const first503 = readiness.find((o) => o.start >= stopIssued && o.status === 503);
      const readyLag = first503 ? first503.end - stopIssued : Infinity;
      checks.add('/health/ready answered 503 within 2 s of the stop', readyLag <= 2000, Math.round(readyLag));
      const readyDuringOutage = readiness.filter((o) => o.start >= (first503?.start ?? stopped) && o.end < startIssued);
      const readyWrong = readyDuringOutage.filter((o) => o.status !== 503);
      checks.add('/health/ready stayed 503 until the restart', readyWrong.length === 0, sample(readyWrong, stopIssued));
      const readyAgain = readiness.find((o) => o.start >= restarted && o.status === 200);

      // API: whatever failed, failed with 503 and within 2.5 s; nothing succeeded while the database was down.
      const failures = outcomes.filter((o) => !succeeded(o));
      const not503 = failures.filter((o) => o.status !== 503);
      checks.add('every failed API request was a 503 (no 500, no dropped connection)', not503.length === 0, {
        count: not503.length,
        first: sample(not503, stopIssued),
      });
      const slow = failures.filter((o) => duration(o) > 2500);
      checks.add('every failed API request failed within 2.5 s', slow.length === 0, {
        count: slow.length,
        first: sample(slow, stopIssued),
      });
      const noRetryAfter = failures.filter((o) => o.status === 503 && !o.headers?.['retry-after']);
      checks.add('every 503 carried Retry-After', noRetryAfter.length === 0, noRetryAfter.length);
      const duringOutage = outcomes.filter((o) => o.start >= stopped && o.end < startIssued);

      // Recovery: requests sent 5 s or more after the restart (pg_ctl start issued), 99% successful, same process.
      const recovered = outcomes.filter((o) => o.start >= startIssued + 5000);
      const recoveredOk = recovered.filter(succeeded).length;
      const ratio = recovered.length ? recoveredOk / recovered.length : 0;
      checks.add('99% of requests sent 5 s after the restart succeeded', ratio >= 0.99, { sent: recovered.length, ok: recoveredOk });
      const lastFailure = [...failures].sort((a, b) => b.end - a.end)[0];
      const firstSuccessAfter = outcomes.find((o) => o.start >= restarted && succeeded(o));

      checks.add('every create answered 201 is in the database', writes.missing.length === 0, writes.missing.slice(0, 5));
      checks.add('retried keyed creates: every key answered 201, and exactly one patient per key', keyed.answered === keyed.keys && keyedRows.n === keyed.keys && keyedRows.names === keyed.keys, {
        keys: keyed.keys,
        answered: keyed.answered,
        patients: keyedRows.n,
      });
      checks.add('creates whose answer was lost were replayed on retry, not made twice', keyed.replayed > 0, { replayed: keyed.replayed, retriedOn: keyed.retriedOn });

      report('outage: pg_ctl stop -m fast for 15 s under 50 req/s', {
        ...summarize(outcomes),
        duringOutage: summarize(duringOutage),
        writesAcknowledged: writes.acknowledged,
        writesFound: writes.found,
        writesNotAcknowledged: writes.unacknowledged,
        storedWithout201: writes.storedWithout201.length,
        keyedCreates: { ...keyed, patients: keyedRows.n },
        stopTookMs: at(stopped, stopIssued),
        restartTookMs: at(restarted, startIssued),
        ready503AfterStopIssuedMs: Number.isFinite(readyLag) ? Math.round(readyLag) : 'never',
        ready200AfterRestartMs: readyAgain ? at(readyAgain.end, restarted) : 'never',
        readinessSlowestProbeMs: Math.round(Math.max(...readiness.map(duration))),
        livenessProbes: summarize(liveness).byStatus,
        firstSuccessAfterRestartMs: firstSuccessAfter ? at(firstSuccessAfter.end, restarted) : 'never',
        lastFailureEndsAfterRestartMs: lastFailure ? at(lastFailure.end, restarted) : null,
        success5sAfterRestart: `${recoveredOk}/${recovered.length} (${(ratio * 100).toFixed(2)}%)`,
        appPidUnchanged: app.pid === pid && app.running,
        checks: checks.summary,
      });
      if (checks.failed.length) process.stdout.write(app.logReport());
      expect(checks.failed).toEqual([]);
    },
    sized(120_000, 180_000),
  );
});

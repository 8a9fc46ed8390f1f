import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppProcess } from './utils/app-process.js';
import { PgCluster } from './utils/cluster.js';
import { at, Checks, report, sample, sized, summarize } from './utils/figures.js';
import { duration, now, Prober, sleep, succeeded } from './utils/http.js';
import { buildWorld, checkWrites, keyedCreates, Load, mixedOps } from './utils/load.js';

const RATE = 50;
const HANG_MS = 10_000;
const BEFORE_MS = sized(3_000, 10_000);
const AFTER_MS = sized(10_000, 20_000);

describe('Hang: every PostgreSQL process SIGSTOPped for 10 s under load', () => {
  let cluster: PgCluster;
  let app: AppProcess;

  beforeAll(async () => {
    cluster = await PgCluster.create();
    app = await AppProcess.start(cluster.appUrl);
  }, 120_000);

  afterAll(async () => {
    cluster?.thaw();
    await app?.stop();
    await cluster?.destroy();
  });

  it(
    'no request waits more than 3 s, failures are 503, and service is back within 5 s of SIGCONT',
    async () => {
      const world = await buildWorld(app.client);
      const pid = app.pid;
      const ready = new Prober(app.client, '/health/ready', 100);
      const load = new Load(app.client, RATE, mixedOps(world)).start();
      // Beside the load, a client that retries each of its creates under its Idempotency-Key until a 201; every third
      // create's first answer is lost (the connection closed once the request is sent).
      const retrying = keyedCreates(app.client, world.users[0].token, 100, { dropEvery: 3 });

      await sleep(BEFORE_MS);
      const frozenAt = now();
      const frozen = cluster.freeze();
      await sleep(HANG_MS - (now() - frozenAt));
      const thawedAt = now();
      cluster.thaw();
      await sleep(AFTER_MS);

      const outcomes = await load.stop();
      const keyed = await retrying.stop(30_000);
      const readiness = await ready.stop();
      const [keyedRows] = await cluster.query<{ n: number; names: number }>(
        'SELECT count(*)::int AS n, count(DISTINCT name)::int AS names FROM patients WHERE name LIKE $1',
        [`Keyed ${keyed.tag} %`],
      );
      const writes = await checkWrites(cluster, outcomes);

      const checks = new Checks();
      checks.add('the process stayed up (same pid, never exited)', app.running && app.pid === pid, app.exit ?? null);

      const slow = outcomes.filter((o) => duration(o) > 3000);
      checks.add('no API request waited more than 3 s', slow.length === 0, {
        count: slow.length,
        byStatus: summarize(slow).byStatus,
        noAnswer: summarize(slow).noAnswer,
        slowestMs: Math.round(Math.max(0, ...slow.map(duration))),
        first: sample(slow, frozenAt),
      });
      const slowReady = readiness.filter((o) => duration(o) > 3000);
      checks.add('no /health/ready probe waited more than 3 s', slowReady.length === 0, {
        count: slowReady.length,
        first: sample(slowReady, frozenAt),
      });

      const failures = outcomes.filter((o) => !succeeded(o));
      const not503 = failures.filter((o) => o.status !== 503);
      checks.add('every failed API request was a 503', not503.length === 0, { count: not503.length, first: sample(not503, frozenAt) });

      const back = outcomes.filter((o) => o.start >= thawedAt + 5000);
      const backOk = back.filter(succeeded).length;
      const ratio = back.length ? backOk / back.length : 0;
      checks.add('99% of requests sent 5 s after SIGCONT succeeded', ratio >= 0.99, { sent: back.length, ok: backOk });
      checks.add('every create answered 201 is in the database', writes.missing.length === 0, writes.missing.slice(0, 5));
      checks.add('retried keyed creates: every key answered 201, and exactly one patient per key', keyed.answered === keyed.keys && keyedRows.n === keyed.keys && keyedRows.names === keyed.keys, {
        keys: keyed.keys,
        answered: keyed.answered,
        patients: keyedRows.n,
      });
      checks.add('creates whose answer was lost were replayed on retry, not made twice', keyed.replayed > 0, { replayed: keyed.replayed, retriedOn: keyed.retriedOn });

      const first503 = readiness.find((o) => o.start >= frozenAt && o.status === 503);
      const readyAgain = readiness.find((o) => o.start >= thawedAt && o.status === 200);
      const lastFailure = [...failures].sort((a, b) => b.end - a.end)[0];
      const during = outcomes.filter((o) => o.start >= frozenAt && o.start < thawedAt);

      report('hang: SIGSTOP of the cluster for 10 s under 50 req/s', {
        ...summarize(outcomes),
        processesFrozen: frozen.length,
        sentDuringHang: summarize(during),
        requestsOver3s: slow.length,
        writesAcknowledged: writes.acknowledged,
        writesFound: writes.found,
        writesNotAcknowledged: writes.unacknowledged,
        storedWithout201: writes.storedWithout201.length,
        keyedCreates: { ...keyed, patients: keyedRows.n },
        ready503AfterSigstopMs: first503 ? at(first503.end, frozenAt) : 'never',
        readinessDuringHang: summarize(readiness.filter((o) => o.start >= frozenAt && o.start < thawedAt)),
        ready200AfterSigcontMs: readyAgain ? at(readyAgain.end, thawedAt) : 'never',
        lastFailureEndsAfterSigcontMs: lastFailure ? at(lastFailure.end, thawedAt) : null,
        success5sAfterSigcont: `${backOk}/${back.length} (${(ratio * 100).toFixed(2)}%)`,
        checks: checks.summary,
      });
      if (checks.failed.length) process.stdout.write(app.logReport());
      expect(checks.failed).toEqual([]);
    },
    sized(120_000, 180_000),
  );
});

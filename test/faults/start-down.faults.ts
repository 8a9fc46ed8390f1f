import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppProcess } from './utils/app-process.js';
import { PgCluster } from './utils/cluster.js';
import { at, Checks, report, sample, sized, summarize } from './utils/figures.js';
import { now, type Outcome, Prober, sleep } from './utils/http.js';
import { Load, registerAndLogin, type WorldUser } from './utils/load.js';

/** How long the database stays down after the app is started. */
const DOWN_MS = sized(8_000, 20_000);

describe('Start with the database down', () => {
  let cluster: PgCluster;
  let app: AppProcess | undefined;
  let user: WorldUser;

  beforeAll(async () => {
    // A migrated database and a user with a token, then the database goes down.
    cluster = await PgCluster.create();
    const first = await AppProcess.start(cluster.appUrl);
    user = await registerAndLogin(first.client);
    await first.stop();
    await cluster.stop('fast');
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await cluster?.destroy();
  });

  it(
    'the app waits, answers only 503 on data routes, and is ready within 5 s of the database coming up',
    async () => {
      const spawned = now();
      app = await AppProcess.spawn(cluster.appUrl);
      const client = app.client;
      const ready = new Prober(client, '/health/ready', 200);
      const live = new Prober(client, '/health', 500);
      const data = new Load(client, 5, (i) =>
        i % 2 === 0
          ? { kind: 'list patients', method: 'GET', path: '/api/patients/', token: user.token }
          : { kind: 'me', method: 'GET', path: '/api/auth/me/', token: user.token },
      ).start();

      await sleep(DOWN_MS);
      const upIssued = now();
      const runningWhenDbStarted = app.running;
      await cluster.start();
      const up = now();

      // Ready: /health/ready 200 and a data route 200, polled for up to 10 s.
      let readyAt: number | undefined;
      let dataAt: number | undefined;
      while (now() - up < 10_000 && app.running && (readyAt === undefined || dataAt === undefined)) {
        if (readyAt === undefined) {
          const probe = await client.send('GET', '/health/ready', { agent: false, timeoutMs: 3000 });
          if (probe.status === 200) readyAt = probe.end;
        }
        if (dataAt === undefined) {
          const res = await client.send('GET', '/api/patients/', { token: user.token, timeoutMs: 3000 });
          if (res.status === 200) dataAt = res.end;
        }
        await sleep(100);
      }
      // While the database was down, from the app's first answer of any kind on (before it, Node is still booting).
      const sent = [...(await data.stop()), ...(await ready.stop()), ...(await live.stop())];
      const firstAnswer = Math.min(...sent.filter((o) => o.status !== undefined).map((o) => o.end));
      const down = (o: Outcome) => o.start >= firstAnswer && o.start < upIssued;
      const whileDown = sent.filter((o) => o.kind !== '/health' && o.kind !== '/health/ready' && down(o));
      const readiness = sent.filter((o) => o.kind === '/health/ready' && down(o));
      const liveness = sent.filter((o) => o.kind === '/health' && down(o));

      const checks = new Checks();
      const exit = app.exit ? { code: app.exit.code, signal: app.exit.signal, afterSpawnMs: at(app.exit.at, spawned) } : null;
      checks.add('the app kept running while the database was down', runningWhenDbStarted, exit);
      const dataNot503 = whileDown.filter((o) => o.status !== 503);
      checks.add('data routes answered 503 (and only 503) while the database was down', whileDown.length > 0 && !dataNot503.length, {
        ...summarize(whileDown),
        firstNot503: sample(dataNot503, spawned, 3),
      });
      const readyNot503 = readiness.filter((o) => o.status !== 503);
      const readyOk = readiness.length > 0 && !readyNot503.length;
      checks.add('/health/ready answered 503 while the database was down', readyOk, summarize(readiness));
      const readyAfter = readyAt === undefined ? Infinity : readyAt - upIssued;
      const dataAfter = dataAt === undefined ? Infinity : dataAt - upIssued;
      checks.add('ready (/health/ready 200) within 5 s of the database starting', readyAfter <= 5000, shown(readyAfter));
      checks.add('a data route answered 200 within 5 s of the database starting', dataAfter <= 5000, shown(dataAfter));

      report(`start with the database down for ${DOWN_MS / 1000} s`, {
        firstAnswerAfterSpawnMs: shown(firstAnswer - spawned),
        sentBeforeFirstAnswer: summarize(sent.filter((o) => o.start < Math.min(firstAnswer, upIssued))),
        dataRoutesWhileDown: summarize(whileDown),
        readinessWhileDown: summarize(readiness),
        livenessWhileDown: summarize(liveness),
        appExit: exit ?? 'still running',
        databaseStartTookMs: at(up, upIssued),
        readyAfterDatabaseStartMs: shown(readyAfter),
        data200AfterDatabaseStartMs: shown(dataAfter),
        checks: checks.summary,
      });
      if (checks.failed.length) process.stdout.write(app.logReport(4));
      expect(checks.failed).toEqual([]);
    },
    sized(90_000, 120_000),
  );
});

const shown = (ms: number) => (Number.isFinite(ms) ? Math.round(ms) : 'never');

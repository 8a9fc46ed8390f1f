import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppProcess } from './utils/app-process.js';
import { PgCluster } from './utils/cluster.js';
import { duration, type Outcome } from './utils/http.js';
import { Checks, report, sized, summarize } from './utils/figures.js';
import { createOrThrow, doctorBody, PASSWORD, patientBody, registerAndLogin } from './utils/load.js';

const ROUNDS = sized(5, 20);
const CONCURRENCY = 50;
const GENDERS = ['male', 'female', 'other', 'unknown'];

interface Round {
  round: number;
  register: Record<string, number>;
  mapping: Record<string, number>;
  patch: Record<string, number>;
  finalMatches: boolean;
  /** The same PATCHes, each with If-Match naming the version they all read. */
  conditional: Record<string, number>;
  versionMoved: number;
  historyAdded: number;
  /** The same patient create 50 times at once, under one Idempotency-Key. */
  keyed: Record<string, number>;
  keyedCreated: number;
  keyedFirstAnswers: number;
  /** The 409s sent again after their Retry-After: each then gets the stored answer. */
  keyedRetriedReplays: number;
}

/** Status (or the error of a request that got no answer) -> count. */
function tally(outcomes: Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    const key = String(o.status ?? o.error);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('Concurrency: identical requests at once (PostgreSQL)', () => {
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
    `${CONCURRENCY} identical registrations, mapping creates, PATCHes and conditional PATCHes at once, ${ROUNDS} rounds: one winner, the rest 409 (412 with If-Match), never a 500`,
    async () => {
      const client = app.client;
      const owner = await registerAndLogin(client);
      const all: Outcome[] = [];
      const rounds: Round[] = [];
      const checks = new Checks();

      for (let round = 1; round <= ROUNDS; round++) {
        // The same username and email 50 times at once: the unique indexes decide, not a pre-check.
        const tag = randomUUID().slice(0, 8);
        const registration = { username: `race_${tag}`, email: `race_${tag}@example.org`, password: PASSWORD };
        const register = await Promise.all(
          Array.from({ length: CONCURRENCY }, () => client.send('POST', '/api/auth/register/', { body: registration, kind: 'register' })),
        );

        // The same (patient, doctor) pair 50 times at once.
        const patient = await createOrThrow(client, '/api/patients/', owner.token, patientBody(round));
        const doctor = await createOrThrow(client, '/api/doctors/', owner.token, doctorBody());
        const mapping = await Promise.all(
          Array.from({ length: CONCURRENCY }, () =>
            client.send('POST', '/api/mappings/', { token: owner.token, body: { patient, doctor }, kind: 'create mapping' }),
          ),
        );

        // 50 different PATCHes of one patient at once: each sets every field, so a final row mixing two would show.
        const bodies = Array.from({ length: CONCURRENCY }, (_, i) => ({
          name: `Round ${round} writer ${i}`,
          age: i,
          gender: GENDERS[i % GENDERS.length],
          address: `${i} Concurrency Road`,
        }));
        const patch = await Promise.all(
          bodies.map((body) => client.send('PATCH', `/api/patients/${patient}/`, { token: owner.token, body, kind: 'patch patient' })),
        );
        const [row] = await cluster.query<{ name: string; age: number; gender: string; address: string }>(
          'SELECT name, age, gender, address FROM patients WHERE id = $1',
          [patient],
        );
        const finalMatches = bodies.some(
          (b) => b.name === row?.name && b.age === row.age && b.gender === row.gender && b.address === row.address,
        );

        // The same 50 PATCHes again, each naming the version they all read (If-Match): the UPDATE's own WHERE decides,
        // so exactly one lands, 49 get 412, the version moves by one and the history gains one entry.
        const [before] = await cluster.query<{ version: number; entries: number }>(
          'SELECT version, (SELECT count(*)::int FROM patient_history WHERE patient_id = $1) AS entries FROM patients WHERE id = $1',
          [patient],
        );
        const conditional = await Promise.all(
          bodies.map((body) =>
            client.send('PATCH', `/api/patients/${patient}/`, {
              token: owner.token,
              body,
              headers: { 'if-match': `W/"${before.version}"` },
              kind: 'conditional patch',
            }),
          ),
        );
        const [after] = await cluster.query<{ version: number; entries: number }>(
          'SELECT version, (SELECT count(*)::int FROM patient_history WHERE patient_id = $1) AS entries FROM patients WHERE id = $1',
          [patient],
        );

        // One create sent 50 times at once under one Idempotency-Key (a client retrying in a storm): one patient,
        // one first answer; the rest replay it or, while it runs, get 409 with Retry-After and replay it when retried.
        const key = randomUUID();
        const keyedBody = { ...patientBody(round), name: `Keyed ${key}` };
        const keyedSend = () =>
          client.send('POST', '/api/patients/', { token: owner.token, body: keyedBody, headers: { 'idempotency-key': key }, kind: 'keyed create' });
        const keyed = await Promise.all(Array.from({ length: CONCURRENCY }, keyedSend));
        const retried = await Promise.all(
          keyed
            .filter((o) => o.status === 409)
            .map(async (o) => {
              await new Promise((resolve) => setTimeout(resolve, Number(o.headers?.['retry-after'] ?? 1) * 1000));
              return keyedSend();
            }),
        );
        const [keyedRows] = await cluster.query<{ n: number }>('SELECT count(*)::int AS n FROM patients WHERE name = $1', [keyedBody.name]);
        const createdIds = new Set([...keyed, ...retried].filter((o) => o.status === 201).map((o) => (o.body as { id?: string })?.id));

        all.push(...register, ...mapping, ...patch, ...conditional, ...keyed, ...retried);
        const r: Round = {
          round,
          register: tally(register),
          mapping: tally(mapping),
          patch: tally(patch),
          finalMatches,
          conditional: tally(conditional),
          versionMoved: after.version - before.version,
          historyAdded: after.entries - before.entries,
          keyed: tally(keyed),
          keyedCreated: keyedRows.n,
          keyedFirstAnswers: keyed.filter((o) => o.status === 201 && o.headers?.['idempotent-replayed'] !== 'true').length,
          keyedRetriedReplays: retried.filter((o) => o.status === 201 && o.headers?.['idempotent-replayed'] === 'true').length,
        };
        rounds.push(r);
        const oneWinner = { 201: 1, 409: CONCURRENCY - 1 };
        checks.add(`round ${round}: registrations one 201 and ${CONCURRENCY - 1} 409`, sameCounts(r.register, oneWinner), r.register);
        checks.add(`round ${round}: mapping creates one 201 and ${CONCURRENCY - 1} 409`, sameCounts(r.mapping, oneWinner), r.mapping);
        checks.add(`round ${round}: PATCHes all 200`, sameCounts(r.patch, { 200: CONCURRENCY }), r.patch);
        checks.add(`round ${round}: the final row is one of the PATCHes`, finalMatches, row);
        checks.add(`round ${round}: conditional PATCHes one 200 and ${CONCURRENCY - 1} 412`, sameCounts(r.conditional, { 200: 1, 412: CONCURRENCY - 1 }), r.conditional);
        checks.add(`round ${round}: the version moved by one, the history gained one entry`, r.versionMoved === 1 && r.historyAdded === 1, {
          versionMoved: r.versionMoved,
          historyAdded: r.historyAdded,
        });
        checks.add(`round ${round}: ${CONCURRENCY} keyed creates made one patient, one first answer, the rest 201 replays or 409`, r.keyedCreated === 1 && r.keyedFirstAnswers === 1 && (r.keyed[201] ?? 0) + (r.keyed[409] ?? 0) === CONCURRENCY && createdIds.size === 1, {
          keyed: r.keyed,
          created: r.keyedCreated,
          firstAnswers: r.keyedFirstAnswers,
        });
        checks.add(`round ${round}: every 409 retried after its Retry-After got the stored answer`, r.keyedRetriedReplays === retried.length, {
          retried: retried.length,
          replays: r.keyedRetriedReplays,
        });
        // Every unconditional PATCH is a version with its history entry: 50 of them, plus the create.
        checks.add(`round ${round}: the unconditional PATCHes made ${CONCURRENCY} versions`, before.version === CONCURRENCY + 1 && before.entries === CONCURRENCY + 1, before);
      }

      const users = await cluster.query<{ n: number }>("SELECT count(*)::int AS n FROM users WHERE username LIKE 'race\\_%'");
      checks.add(`${ROUNDS} accounts registered, one per round`, users[0].n === ROUNDS, users[0].n);
      const five = all.filter((o) => o.status !== undefined && o.status >= 500);
      checks.add('never a 500 (nor any 5xx)', five.length === 0, summarize(five)['5xx']);

      report(`concurrency: ${ROUNDS} rounds of ${CONCURRENCY} at once`, {
        ...summarize(all),
        slowestRequestMs: Math.round(Math.max(...all.map(duration))),
        roundsAllAsExpected: rounds.filter(
          (r) =>
            sameCounts(r.register, { 201: 1, 409: CONCURRENCY - 1 }) &&
            sameCounts(r.mapping, { 201: 1, 409: CONCURRENCY - 1 }) &&
            sameCounts(r.patch, { 200: CONCURRENCY }) &&
            r.finalMatches &&
            sameCounts(r.conditional, { 200: 1, 412: CONCURRENCY - 1 }) &&
            r.versionMoved === 1 &&
            r.keyedCreated === 1 &&
            r.keyedFirstAnswers === 1,
        ).length,
        keyedCreates: {
          sent: rounds.length * CONCURRENCY,
          distinctKeys: rounds.length,
          patientsCreated: rounds.reduce((n, r) => n + r.keyedCreated, 0),
          answered: rounds.reduce<Record<string, number>>((acc, r) => {
            for (const [k, v] of Object.entries(r.keyed)) acc[k] = (acc[k] ?? 0) + v;
            return acc;
          }, {}),
          retriedAfter409: rounds.reduce((n, r) => n + r.keyedRetriedReplays, 0),
        },
        firstRound: rounds[0],
        checks: checks.summary.filter((s) => s.startsWith('FAIL')).length ? checks.summary.filter((s) => s.startsWith('FAIL')) : 'all pass',
      });
      if (checks.failed.length) process.stdout.write(app.logReport());
      expect(checks.failed).toEqual([]);
    },
    sized(180_000, 600_000),
  );
});

function sameCounts(actual: Record<string, number>, expected: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  return [...keys].every((k) => (actual[k] ?? 0) === (expected[k] ?? 0));
}

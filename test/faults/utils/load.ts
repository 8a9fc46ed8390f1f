import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { PgCluster } from './cluster.js';
import { type FaultsClient, now, type Outcome, sleep } from './http.js';

export const PASSWORD = 'Quiet-Harbour-Lantern-42';

/** A request the load sends; `creates` names the table an acknowledged (201) answer's id must be found in. */
export interface Op {
  kind: string;
  method: string;
  path: string;
  body?: unknown;
  token?: string;
  creates?: 'patients' | 'doctors';
}

export type LoadOutcome = Outcome & { creates?: Op['creates']; sent?: unknown };

/**
 * An open-loop load: request i is sent at start + i / rate whatever happened
 * to the previous ones (a slow server does not slow the load down, as real
 * clients do not wait for each other), each with its own deadline.
 */
export class Load {
  readonly outcomes: LoadOutcome[] = [];
  private readonly pending = new Set<Promise<void>>();
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  sent = 0;

  constructor(
    private readonly client: FaultsClient,
    private readonly ratePerSecond: number,
    private readonly next: (i: number) => Op,
    private readonly timeoutMs = 20_000,
  ) {}

  start(): this {
    this.running = true;
    const t0 = now();
    const interval = 1000 / this.ratePerSecond;
    this.loop = (async () => {
      for (let i = 0; this.running; i++) {
        const due = t0 + i * interval;
        if (due > now()) await sleep(due - now());
        if (!this.running) break;
        this.fire(this.next(i));
      }
    })();
    return this;
  }

  private fire(op: Op): void {
    this.sent++;
    const sent = this.client
      .send(op.method, op.path, { token: op.token, body: op.body, timeoutMs: this.timeoutMs, kind: op.kind })
      .then((outcome) => {
        this.outcomes.push({ ...outcome, creates: op.creates, sent: op.body });
        this.pending.delete(sent);
      });
    this.pending.add(sent);
  }

  /** Stops sending and waits for every request in flight to end. */
  async stop(): Promise<LoadOutcome[]> {
    this.running = false;
    await this.loop;
    await Promise.all(this.pending);
    return this.outcomes.sort((a, b) => a.start - b.start);
  }
}

export interface WorldUser {
  id: string;
  username: string;
  token: string;
  patients: string[];
}

/** A few users, each with patients, and some doctors: what the load reads and adds to. */
export interface World {
  users: WorldUser[];
  doctors: string[];
}

export async function registerAndLogin(client: FaultsClient): Promise<WorldUser> {
  const tag = randomUUID().slice(0, 8);
  const input = { username: `faults_${tag}`, email: `faults_${tag}@example.org`, password: PASSWORD };
  const reg = await client.send('POST', '/api/auth/register/', { body: input });
  if (reg.status !== 201) throw new Error(`register: ${reg.status ?? reg.error} ${JSON.stringify(reg.body)}`);
  const login = await client.send('POST', '/api/auth/login/', { body: { username: input.username, password: PASSWORD } });
  if (login.status !== 200) throw new Error(`login: ${login.status ?? login.error} ${JSON.stringify(login.body)}`);
  return { id: reg.body.id, username: input.username, token: login.body.access, patients: [] };
}

export function patientBody(i: number) {
  return { name: `Load Patient ${i} ${randomUUID().slice(0, 6)}`, age: i % 151, gender: 'other', address: `${i} Load Street` };
}

export function doctorBody() {
  const tag = randomUUID().slice(0, 12);
  return { name: `Dr. ${tag}`, specialization: 'Resilience', email: `dr_${tag}@clinic.example`, phone: '5550001111' };
}

export async function createOrThrow(client: FaultsClient, path: string, token: string, body: unknown): Promise<string> {
  const res = await client.send('POST', path, { token, body });
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status ?? res.error} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

export async function buildWorld(client: FaultsClient, userCount = 4, patientsEach = 3): Promise<World> {
  const users: WorldUser[] = [];
  const doctors: string[] = [];
  for (let u = 0; u < userCount; u++) {
    const user = await registerAndLogin(client);
    for (let p = 0; p < patientsEach; p++) user.patients.push(await createOrThrow(client, '/api/patients/', user.token, patientBody(p)));
    doctors.push(await createOrThrow(client, '/api/doctors/', user.token, doctorBody()));
    users.push(user);
  }
  return { users, doctors };
}

/**
 * Mixed traffic, 70% reads and 30% creates, spread over the users: lists and
 * single patients, doctor lists, new patients and new doctors.
 */
export function mixedOps(world: World): (i: number) => Op {
  return (i) => {
    const user = world.users[i % world.users.length];
    switch (i % 10) {
      case 0:
      case 3:
      case 6:
        return { kind: 'list patients', method: 'GET', path: '/api/patients/?page_size=5', token: user.token };
      case 1:
      case 7:
        return {
          kind: 'read patient',
          method: 'GET',
          path: `/api/patients/${user.patients[i % user.patients.length]}/`,
          token: user.token,
        };
      case 4:
        return { kind: 'list doctors', method: 'GET', path: '/api/doctors/?page_size=5', token: user.token };
      case 9:
        return { kind: 'read doctor', method: 'GET', path: `/api/doctors/${world.doctors[i % world.doctors.length]}/`, token: user.token };
      case 2:
      case 5:
        return {
          kind: 'create patient',
          method: 'POST',
          path: '/api/patients/',
          body: patientBody(i),
          token: user.token,
          creates: 'patients',
        };
      default:
        return { kind: 'create doctor', method: 'POST', path: '/api/doctors/', body: doctorBody(), token: user.token, creates: 'doctors' };
    }
  };
}

/** Writes only: new patients (4 in 5) and new doctors. */
export function writeOps(world: World): (i: number) => Op {
  return (i) => {
    const user = world.users[i % world.users.length];
    return i % 5 === 4
      ? { kind: 'create doctor', method: 'POST', path: '/api/doctors/', body: doctorBody(), token: user.token, creates: 'doctors' }
      : { kind: 'create patient', method: 'POST', path: '/api/patients/', body: patientBody(i), token: user.token, creates: 'patients' };
  };
}

export interface WriteCheck {
  acknowledged: number;
  found: number;
  missing: string[];
  /** Creates that were not answered 201. */
  unacknowledged: number;
  /** Of those, the ones stored all the same (the commit happened, the answer was lost): patient names and doctor emails. */
  storedWithout201: string[];
}

/** Every create answered 201 must be in the database (looked up by id, as the superuser). */
export async function checkWrites(cluster: PgCluster, outcomes: LoadOutcome[]): Promise<WriteCheck> {
  const acked = outcomes.filter((o) => o.creates && o.status === 201);
  let found = 0;
  const missing: string[] = [];
  for (const table of ['patients', 'doctors'] as const) {
    const ids = acked.filter((o) => o.creates === table).map((o) => String(o.body?.id));
    if (ids.length === 0) continue;
    const rows = await cluster.query<{ id: string }>(`SELECT id FROM ${table} WHERE id = ANY($1::uuid[])`, [ids]);
    const present = new Set(rows.map((r) => r.id));
    found += present.size;
    missing.push(...ids.filter((id) => !present.has(id)).map((id) => `${table}/${id}`));
  }
  const unacked = outcomes.filter((o) => o.creates && o.status !== 201);
  const names = unacked.filter((o) => o.creates === 'patients').map((o) => (o.sent as { name: string }).name);
  const emails = unacked.filter((o) => o.creates === 'doctors').map((o) => (o.sent as { email: string }).email);
  const stored = [
    ...(await cluster.query<{ key: string }>('SELECT name AS key FROM patients WHERE name = ANY($1)', [names])),
    ...(await cluster.query<{ key: string }>('SELECT email AS key FROM doctors WHERE email = ANY($1)', [emails])),
  ].map((r) => r.key);
  return { acknowledged: acked.length, found, missing, unacknowledged: unacked.length, storedWithout201: stored };
}

/** What a client that retries its creates under Idempotency-Key saw: how many creates, tries and replays. */
export interface KeyedCreates {
  tag: string;
  keys: number;
  /** Keys that got a 201 (first or replayed) before the deadline. */
  answered: number;
  attempts: number;
  replayed: number;
  /** Non-201 answers (or no answer) that were retried, by status or error. */
  retriedOn: Record<string, number>;
}

/**
 * A client that creates a patient every `intervalMs` until `stop()`, each
 * under a key of its own, and retries each create with the same key (after
 * Retry-After, else 500 ms) until a 201, as the draft tells clients to: the
 * database must end with exactly one patient per key however the retries fell.
 * `dropEvery` n: the first try of every n-th create closes its connection
 * once the request is sent, so its answer is lost and only the retry tells.
 */
export function keyedCreates(client: FaultsClient, token: string, intervalMs: number, { dropEvery = 0 } = {}) {
  const tag = randomUUID().slice(0, 8);
  const result: KeyedCreates = { tag, keys: 0, answered: 0, attempts: 0, replayed: 0, retriedOn: {} };
  let stopped = false;
  const pending: Promise<void>[] = [];
  const createOne = async (i: number, deadline: () => number) => {
    const key = randomUUID();
    const body = { name: `Keyed ${tag} ${i}`, age: i % 151, gender: 'other', address: '' };
    for (let attempt = 0; ; attempt++) {
      result.attempts += 1;
      const dropAnswer = dropEvery > 0 && attempt === 0 && i % dropEvery === 0;
      const res = await client.send('POST', '/api/patients/', { token, body, headers: { 'idempotency-key': key }, timeoutMs: 5000, kind: 'keyed create', dropAnswer });
      if (res.status === 201) {
        result.answered += 1;
        if (res.headers?.['idempotent-replayed'] === 'true') result.replayed += 1;
        return;
      }
      const why = String(res.status ?? res.error);
      result.retriedOn[why] = (result.retriedOn[why] ?? 0) + 1;
      if (performance.now() > deadline()) return;
      const after = Number(res.headers?.['retry-after']);
      await new Promise((resolve) => setTimeout(resolve, Number.isFinite(after) && after > 0 ? after * 1000 : 500));
    }
  };
  let stopAt = Infinity;
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      result.keys += 1;
      pending.push(createOne(i, () => stopAt));
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    /** Stops starting creates; waits (up to `graceMs`) for those in flight to get their 201. */
    async stop(graceMs: number): Promise<KeyedCreates> {
      stopped = true;
      stopAt = performance.now() + graceMs;
      await loop;
      await Promise.all(pending);
      return result;
    },
  };
}

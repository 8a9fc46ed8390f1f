import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  CONSISTENCY_TOKEN_HEADER,
  ConsistencyTokens,
  createHealthcareClient,
  isProblem,
  itemsOf,
  pagesOf,
  ProblemError,
  TokenSession,
  type HealthcareClient,
  type Problem,
  type Schemas,
} from '../client/src/index.js';
import { createTestApp, type TestApp } from './utils/app.js';
import { buildUser } from './utils/factories.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const ACCESS_TTL = 900;
const REFRESH_IDLE_TTL = 1800;

/** The data of a call that had to answer `status`; fails with the problem it got otherwise. */
function expectData<T>(result: { data?: T; error?: unknown; response: Response }, status: number): T {
  expect({ status: result.response.status, error: result.error }).toEqual({ status, error: undefined });
  return result.data as T;
}

/** The typed problem of a call that had to fail with `status`. */
function expectError(result: { error?: Problem; response: Response }, status: number): Problem {
  expect(result.response.status).toBe(status);
  expect(result.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(isProblem(result.error)).toBe(true);
  const problem = result.error as Problem;
  expect(problem.status).toBe(status);
  return problem;
}

function patientInput(overrides: Partial<Schemas['CreatePatientDto']> = {}): Schemas['CreatePatientDto'] {
  const name = `Patient ${randomUUID().slice(0, 8)}`;
  return { name, age: 42, gender: 'female', address: '1 Harbour Road', ...overrides };
}

function doctorInput(overrides: Partial<Schemas['CreateDoctorDto']> = {}): Schemas['CreateDoctorDto'] {
  const tag = randomUUID().slice(0, 8);
  const email = `dr_${tag}@clinic.example`;
  return { name: `Dr. ${tag}`, specialization: 'Cardiology', email, phone: '5551234567', ...overrides };
}

/** The `cursor` query parameter of a page's `next` link. */
function cursorOf(link: string | null): string {
  const cursor = link ? new URL(link).searchParams.get('cursor') : null;
  if (!cursor) throw new Error(`no cursor in ${link}`);
  return cursor;
}

/**
 * Everything here goes through the published client alone (no raw HTTP), so
 * a drift between the server, openapi.json and the generated types shows up
 * as a failing call or a failing type check.
 */
describe('Typed client (e2e)', () => {
  let t: TestApp;
  let session: TokenSession;
  let api: HealthcareClient;
  let user: ReturnType<typeof buildUser>;

  /** Registers and logs in a new user in a session of its own. */
  async function newSession(options: { fetch?: typeof fetch; onSessionEnd?: () => void } = {}) {
    const input = buildUser();
    const anonymous = createHealthcareClient({ baseUrl: t.baseUrl });
    expectData(await anonymous.POST('/api/auth/register', { body: input }), 201);
    const s = new TokenSession({ baseUrl: t.baseUrl, ...options });
    expect(await s.login(input.username, input.password)).toEqual({ ok: true });
    return { session: s, input };
  }

  beforeAll(async () => {
    t = await createTestApp({ JWT_ACCESS_TTL: String(ACCESS_TTL), JWT_REFRESH_IDLE_TTL: String(REFRESH_IDLE_TTL) });
    ({ session, input: user } = await newSession());
    api = session.client;
  });
  afterAll(() => t?.close());

  describe('auth', () => {
    it('registers, logs in and reads the caller', async () => {
      const input = buildUser();
      const anonymous = createHealthcareClient({ baseUrl: t.baseUrl });
      const registered = expectData(await anonymous.POST('/api/auth/register', { body: input }), 201);
      expect(registered).toEqual({
        id: expect.stringMatching(UUID),
        username: input.username,
        email: input.email,
        date_joined: expect.stringMatching(ISO_MS),
      });

      const s = new TokenSession({ baseUrl: t.baseUrl });
      expect(s.loggedIn).toBe(false);
      expect(await s.login(input.username, input.password)).toEqual({ ok: true });
      expect(s.loggedIn).toBe(true);

      const me = expectData(await s.client.GET('/api/auth/me'), 200);
      expect(me).toEqual({ ...registered, role: 'user' });
    });

    it('a wrong password is a typed 401 problem, not a throw', async () => {
      const other = new TokenSession({ baseUrl: t.baseUrl });
      const result = await other.login(user.username, 'Not-The-Password-99');
      expect(result).toEqual({ ok: false, problem: expect.objectContaining({ status: 401, title: 'Unauthorized' }) });
      expect(other.loggedIn).toBe(false);
    });

    it('register answers a taken username with a typed 409', async () => {
      const anonymous = createHealthcareClient({ baseUrl: t.baseUrl });
      const taken = await anonymous.POST('/api/auth/register', { body: { ...buildUser(), username: user.username } });
      expectError(taken, 409);
    });

    it('refresh() rotates the token pair and the new access token works', async () => {
      const before = session.accessToken;
      expect(await session.refresh()).toBe(true);
      expect(session.accessToken).toEqual(expect.any(String));
      expect(session.accessToken).not.toBe(before);
      expect(expectData(await api.GET('/api/auth/me'), 200).username).toBe(user.username);
    });

    it('createHealthcareClient sends the token its getter returns', async () => {
      const plain = createHealthcareClient({ baseUrl: t.baseUrl, getAccessToken: () => session.accessToken });
      expect(expectData(await plain.GET('/api/auth/me'), 200).username).toBe(user.username);
      const anonymous = createHealthcareClient({ baseUrl: t.baseUrl });
      expectError(await anonymous.GET('/api/auth/me'), 401);
    });

    it('an expired access token is refreshed once and the call retried, body included', async () => {
      const calls: string[] = [];
      const recording: typeof fetch = async (input, init) => {
        const response = await fetch(input, init);
        const request = input instanceof Request ? input : new Request(input, init);
        calls.push(`${request.method} ${new URL(request.url).pathname} ${response.status}`);
        return response;
      };
      const { session: s } = await newSession({ fetch: recording });
      const expired = s.accessToken;
      const input = patientInput();

      // The server runs in this process, so moving the clock past the access
      // token's lifetime (but not the refresh token's) expires it for real.
      // Only Date is faked: the server's timers and I/O keep running.
      jest.useFakeTimers({
        now: Date.now() + (ACCESS_TTL + 60) * 1000,
        advanceTimers: true,
        doNotFake: [
          'hrtime',
          'nextTick',
          'performance',
          'queueMicrotask',
          'requestAnimationFrame',
          'cancelAnimationFrame',
          'requestIdleCallback',
          'cancelIdleCallback',
          'setImmediate',
          'clearImmediate',
          'setInterval',
          'clearInterval',
          'setTimeout',
          'clearTimeout',
        ],
      });
      let created: Schemas['PatientDto'];
      try {
        created = expectData(await s.client.POST('/api/patients', { body: input }), 201);
      } finally {
        jest.useRealTimers();
      }

      expect(calls).toEqual([
        'POST /api/auth/login 200',
        'POST /api/patients 401',
        'POST /api/auth/refresh 200',
        'POST /api/patients 201',
      ]);
      expect(s.accessToken).not.toBe(expired);
      expect(created).toMatchObject(input);
      // The rejected attempt created nothing: exactly one patient by that name.
      const page = expectData(await s.client.GET('/api/patients', { params: { query: { search: input.name } } }), 200);
      expect(page.results.map((p) => p.id)).toEqual([created.id]);
    });

    it('when the refresh is refused the session ends: onSessionEnd, then typed 401s', async () => {
      const ended = jest.fn();
      const { session: s, input } = await newSession({ onSessionEnd: ended });
      const elsewhere = new TokenSession({ baseUrl: t.baseUrl });
      expect(await elsewhere.login(input.username, input.password)).toEqual({ ok: true });
      expect(expectData(await elsewhere.client.POST('/api/auth/logout-all'), 204)).toBeUndefined();

      expectError(await s.client.GET('/api/auth/me'), 401);
      expect(ended).toHaveBeenCalledTimes(1);
      expect(s.loggedIn).toBe(false);
      expect(await s.refresh()).toBe(false);
    });

    it('logout ends the session on the server and forgets the tokens', async () => {
      const { session: s } = await newSession();
      const token = s.accessToken;
      await s.logout();
      expect(s.loggedIn).toBe(false);
      expect(s.accessToken).toBeNull();
      const stale = createHealthcareClient({ baseUrl: t.baseUrl, getAccessToken: () => token });
      expectError(await stale.GET('/api/auth/me'), 401);
    });
  });

  describe('patients', () => {
    it('creates, reads, replaces, patches and deletes a patient', async () => {
      const input = patientInput({ name: 'Grace Hopper', gender: 'female', age: 85 });
      const created = expectData(await api.POST('/api/patients', { body: input }), 201);
      expect(created).toEqual({
        ...input,
        id: expect.stringMatching(UUID),
        version: 1,
        created_at: expect.stringMatching(ISO_MS),
        updated_at: expect.stringMatching(ISO_MS),
      });
      const path = { params: { path: { id: created.id } } };

      expect(expectData(await api.GET('/api/patients/{id}', path), 200)).toEqual(created);

      const replacement = { name: 'Ada Lovelace', age: 36, gender: 'female', address: '' } as const;
      const replaced = expectData(await api.PUT('/api/patients/{id}', { ...path, body: replacement }), 200);
      expect(replaced).toMatchObject({ ...replacement, id: created.id, created_at: created.created_at });

      const patched = expectData(await api.PATCH('/api/patients/{id}', { ...path, body: { age: 37 } }), 200);
      expect(patched).toMatchObject({ ...replacement, age: 37, id: created.id });
      expect(Date.parse(patched.updated_at)).toBeGreaterThanOrEqual(Date.parse(replaced.updated_at));

      const deleted = await api.DELETE('/api/patients/{id}', path);
      expect(deleted.response.status).toBe(204);
      expect(deleted.data).toBeUndefined();
      expectError(await api.GET('/api/patients/{id}', path), 404);
    });

    it('lists with typed filters and follows the cursor to the next page', async () => {
      const tag = randomUUID().slice(0, 8);
      const [, forty, fifty] = await Promise.all(
        [30, 40, 50].map(async (age) =>
          expectData(await api.POST('/api/patients', { body: patientInput({ name: `List ${tag} ${age}`, age }) }), 201),
        ),
      );
      const male = patientInput({ name: `List ${tag} male`, gender: 'male' });
      expectData(await api.POST('/api/patients', { body: male }), 201);

      const query = { search: tag, gender: 'female', min_age: 35, max_age: 60, ordering: 'age', page_size: 1 } as const;
      const first = expectData(await api.GET('/api/patients', { params: { query } }), 200);
      expect(first.results.map((p) => [p.id, p.age])).toEqual([[forty.id, 40]]);
      expect(first.previous).toBeNull();

      const cursor = cursorOf(first.next);
      const second = expectData(await api.GET('/api/patients', { params: { query: { ...query, cursor } } }), 200);
      expect(second.results.map((p) => [p.id, p.age])).toEqual([[fifty.id, 50]]);
      expect(second.next).toBeNull();
      expect(second.previous).toEqual(expect.any(String));
    });

    it('a bad request is a typed problem+json with the field in errors', async () => {
      const result = await api.POST('/api/patients', { body: patientInput({ age: 200 }) });
      expect(result.data).toBeUndefined();
      // `error` is typed from openapi.json: this line compiles only while it is a Problem.
      const error: Problem | undefined = result.error;
      expect(error).toEqual(
        expect.objectContaining({
          type: expect.any(String),
          title: 'Bad Request',
          status: 400,
          detail: expect.any(String),
          errors: { age: [expect.stringContaining('150')] },
        }),
      );
      expect(error?.errors?.age).toHaveLength(1);
      expectError(result, 400);
    });
  });

  describe('doctors', () => {
    it('creates, lists, reads, replaces, patches and deletes a doctor', async () => {
      const tag = randomUUID().slice(0, 8);
      const input = doctorInput({ name: `Dr. Quinn ${tag}`, specialization: `Neurology ${tag}` });
      const created = expectData(await api.POST('/api/doctors', { body: input }), 201);
      expect(created).toEqual({
        ...input,
        id: expect.stringMatching(UUID),
        version: 1,
        created_at: expect.stringMatching(ISO_MS),
        updated_at: expect.stringMatching(ISO_MS),
      });
      const path = { params: { path: { id: created.id } } };

      const bySearch = expectData(await api.GET('/api/doctors', { params: { query: { search: tag } } }), 200);
      expect(bySearch.results.map((d) => d.id)).toEqual([created.id]);
      const bySpecialization = expectData(
        await api.GET('/api/doctors', { params: { query: { specialization: `NEUROLOGY ${tag}`, ordering: 'name' } } }),
        200,
      );
      expect(bySpecialization.results.map((d) => d.id)).toEqual([created.id]);

      expect(expectData(await api.GET('/api/doctors/{id}', path), 200)).toEqual(created);

      const replacement = doctorInput({ name: `Dr. Replaced ${tag}` });
      const replaced = expectData(await api.PUT('/api/doctors/{id}', { ...path, body: replacement }), 200);
      expect(replaced).toMatchObject({ ...replacement, id: created.id });

      const patched = expectData(await api.PATCH('/api/doctors/{id}', { ...path, body: { phone: '5559876543' } }), 200);
      expect(patched).toMatchObject({ ...replacement, phone: '5559876543', id: created.id });

      const { session: other } = await newSession();
      expectError(await other.client.PATCH('/api/doctors/{id}', { ...path, body: { name: 'Not mine' } }), 403);

      expect((await api.DELETE('/api/doctors/{id}', path)).response.status).toBe(204);
      expectError(await api.GET('/api/doctors/{id}', path), 404);
    });

    it('a taken email is a typed 409', async () => {
      const input = doctorInput();
      expectData(await api.POST('/api/doctors', { body: input }), 201);
      const again = await api.POST('/api/doctors', { body: doctorInput({ email: input.email.toUpperCase() }) });
      expectError(again, 409);
    });
  });

  describe('mappings', () => {
    it('assigns, lists, shows the doctors of a patient and unassigns', async () => {
      const patient = expectData(await api.POST('/api/patients', { body: patientInput() }), 201);
      const [house, wilson] = await Promise.all(
        ['House', 'Wilson'].map(async (name) =>
          expectData(await api.POST('/api/doctors', { body: doctorInput({ name: `Dr. ${name}` }) }), 201),
        ),
      );

      const assign = (doctor: string) => api.POST('/api/mappings', { body: { patient: patient.id, doctor } });
      const first = expectData(await assign(house.id), 201);
      expect(first).toEqual({
        id: expect.stringMatching(UUID),
        patient: patient.id,
        doctor: house.id,
        created_at: expect.stringMatching(ISO_MS),
      });
      const second = expectData(await assign(wilson.id), 201);

      expectError(await assign(house.id), 409);

      const list = expectData(await api.GET('/api/mappings', { params: { query: { page_size: 100 } } }), 200);
      expect(list.results).toEqual(expect.arrayContaining([first, second]));

      const patientPath = { params: { path: { id: patient.id } } };
      const assigned = expectData(await api.GET('/api/mappings/{id}', patientPath), 200);
      expect(assigned.results.map((d) => [d.id, d.name, d.mapping_id]).sort()).toEqual(
        [
          [house.id, 'Dr. House', first.id],
          [wilson.id, 'Dr. Wilson', second.id],
        ].sort(),
      );
      expect(assigned.results.every((d) => ISO_MS.test(d.assigned_at))).toBe(true);

      const removed = await api.DELETE('/api/mappings/{id}', { params: { path: { id: first.id } } });
      expect(removed.response.status).toBe(204);
      const after = expectData(await api.GET('/api/mappings/{id}', patientPath), 200);
      expect(after.results.map((d) => d.id)).toEqual([wilson.id]);
      expectError(await api.DELETE('/api/mappings/{id}', { params: { path: { id: first.id } } }), 404);
    });
  });

  describe('walking every page (pagesOf, itemsOf)', () => {
    /** A session of its own, with a fetch that records the query of each list page it asks for. */
    async function countingSession() {
      const asked: URLSearchParams[] = [];
      const counting: typeof fetch = (input, init) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        if (url.pathname.startsWith('/api/patients') || url.pathname.startsWith('/api/mappings/')) asked.push(url.searchParams);
        return fetch(input, init);
      };
      const { session: s } = await newSession({ fetch: counting });
      return { api: s.client, asked };
    }

    it('itemsOf yields every item of every page, in the list order, one request per page', async () => {
      const { api: own, asked } = await countingSession();
      const names = Array.from({ length: 7 }, (_, i) => `Walk ${String.fromCharCode(71 - i)} ${randomUUID().slice(0, 4)}`);
      for (const name of names) expectData(await own.POST('/api/patients', { body: patientInput({ name }) }), 201);
      asked.length = 0;

      const walked: Schemas['PatientDto'][] = [];
      for await (const patient of itemsOf(own, '/api/patients', { query: { ordering: 'name', page_size: 3 } })) walked.push(patient);

      expect(walked.map((p) => p.name)).toEqual([...names].sort());
      expect(new Set(walked.map((p) => p.id)).size).toBe(7);
      // Three pages (3 + 3 + 1): the first without a cursor, the next two with the cursors of the `next` links.
      expect(asked.map((q) => [q.get('ordering'), q.get('page_size'), q.has('cursor')])).toEqual([
        ['name', '3', false],
        ['name', '3', true],
        ['name', '3', true],
      ]);
    });

    it('pagesOf yields each page as the API sent it, the last with next null', async () => {
      const { api: own } = await countingSession();
      for (const age of [20, 30, 40, 50, 60]) expectData(await own.POST('/api/patients', { body: patientInput({ age }) }), 201);
      const query = { ordering: '-age', page_size: 2 } as const;

      const pages = [];
      for await (const page of pagesOf(own, '/api/patients', { query })) pages.push(page);

      expect(pages.map((page) => page.results.map((p) => p.age))).toEqual([[60, 50], [40, 30], [20]]);
      expect(pages.map((page) => page.next === null)).toEqual([false, false, true]);
      expect(pages[0].previous).toBeNull();
      // The same page a caller following `next` by hand reads (cursors are encrypted afresh each time).
      const cursor = cursorOf(pages[0].next);
      const second = expectData(await own.GET('/api/patients', { params: { query: { ...query, cursor } } }), 200);
      expect(second.results).toEqual(pages[1].results);
    });

    it('stops fetching when the loop stops', async () => {
      const { api: own, asked } = await countingSession();
      for (let i = 0; i < 4; i++) expectData(await own.POST('/api/patients', { body: patientInput() }), 201);
      asked.length = 0;
      let first: Schemas['PatientDto'] | undefined;
      for await (const patient of itemsOf(own, '/api/patients', { query: { page_size: 1 } })) {
        first = patient;
        break;
      }
      expect(first?.id).toEqual(expect.stringMatching(UUID));
      expect(asked).toHaveLength(1);
    });

    it('walks a list with a path parameter: the doctors of one patient', async () => {
      const { api: own } = await countingSession();
      const patient = expectData(await own.POST('/api/patients', { body: patientInput() }), 201);
      const doctors = [];
      for (let i = 0; i < 3; i++) {
        const doctor = expectData(await own.POST('/api/doctors', { body: doctorInput() }), 201);
        expectData(await own.POST('/api/mappings', { body: { patient: patient.id, doctor: doctor.id } }), 201);
        doctors.push(doctor.id);
      }
      const assigned: string[] = [];
      for await (const doctor of itemsOf(own, '/api/mappings/{id}', { path: { id: patient.id }, query: { page_size: 2 } })) {
        assigned.push(doctor.id);
      }
      expect(assigned.sort()).toEqual(doctors.sort());
    });

    it('an empty list is one empty page and no item', async () => {
      const { api: own } = await countingSession();
      const pages = [];
      for await (const page of pagesOf(own, '/api/patients')) pages.push(page);
      expect(pages).toEqual([{ next: null, previous: null, results: [] }]);
      const items = [];
      for await (const patient of itemsOf(own, '/api/patients')) items.push(patient);
      expect(items).toEqual([]);
    });

    it('a refused page throws a ProblemError carrying the typed problem', async () => {
      const { api: own } = await countingSession();
      const walk = async () => {
        for await (const patient of itemsOf(own, '/api/patients', { query: { search: '%%' } })) void patient;
      };
      const error = await walk().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ProblemError);
      const { problem, status } = error as ProblemError;
      expect(status).toBe(400);
      expect(problem).toMatchObject({ status: 400, title: 'Bad Request', errors: { search: [expect.any(String)] } });
      // Without a token the walk ends at the first page with the API's 401.
      const anonymous = createHealthcareClient({ baseUrl: t.baseUrl });
      await expect(pagesOf(anonymous, '/api/patients').next()).rejects.toMatchObject({ status: 401, problem: { status: 401 } });
    });
  });
});

describe('Typed client: consistency tokens', () => {
  /** A stand-in API: answers each request with the next scripted token (null: none) and records what it was sent. */
  function scripted(tokens: Array<string | null>) {
    const sent: Array<string | null> = [];
    const fetch = async (input: Request | string | URL) => {
      sent.push((input as Request).headers.get(CONSISTENCY_TOKEN_HEADER));
      const token = tokens.shift() ?? null;
      return new Response(JSON.stringify({ next: null, previous: null, results: [] }), {
        status: 200,
        headers: { 'content-type': 'application/json', ...(token ? { [CONSISTENCY_TOKEN_HEADER]: token } : {}) },
      });
    };
    return { sent, fetch: fetch as typeof globalThis.fetch };
  }

  it('sends back the newest token any answer carried, never an older or malformed one', async () => {
    const api = scripted([null, '0/16B3748', '0/1000', 'not-a-token', '1/0', null]);
    const client = createHealthcareClient({ baseUrl: 'http://api.test', fetch: api.fetch });
    for (let i = 0; i < 6; i++) await client.GET('/api/patients', {});
    expect(api.sent).toEqual([null, null, '0/16B3748', '0/16B3748', '0/16B3748', '1/0']);
  });

  it('TokenSession does the same; a shared holder carries the token between clients; null sends none', async () => {
    const shared = new ConsistencyTokens();
    const writer = scripted(['0/2000']);
    await new TokenSession({ baseUrl: 'http://api.test', fetch: writer.fetch, consistency: shared }).client.GET('/api/patients', {});
    const reader = scripted([]);
    await createHealthcareClient({ baseUrl: 'http://api.test', fetch: reader.fetch, consistency: shared }).GET('/api/patients', {});
    expect(reader.sent).toEqual(['0/2000']);
    const none = scripted(['0/3000', null]);
    const plain = createHealthcareClient({ baseUrl: 'http://api.test', fetch: none.fetch, consistency: null });
    await plain.GET('/api/patients', {});
    await plain.GET('/api/patients', {});
    expect(none.sent).toEqual([null, null]);
  });
});

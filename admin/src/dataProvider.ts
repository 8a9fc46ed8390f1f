import { HttpError, type DataProvider, type GetListParams, type GetListResult, type RaRecord } from 'react-admin';
import { isProblem, type HealthcareClient, type operations, type Schemas, versionTag } from '../../client/src/index.js';

type ListQuery<Op extends keyof operations> = NonNullable<operations[Op]['parameters']['query']>;
type Fields = Record<string, unknown>;

interface Page {
  next: string | null;
  previous: string | null;
  results: RaRecord[];
}

/** What the console may do with one resource, through the typed client only. */
interface ApiResource {
  /** The list's query parameters; the filter inputs are named after them. */
  filters: readonly string[];
  /** The fields the list's `ordering` accepts (each also descending, with a leading `-`). */
  sortable: readonly string[];
  /** The fields a create or an update sends: the API refuses any other. */
  writable: readonly string[];
  list(query: Fields): Promise<Page>;
  getOne?(id: string): Promise<RaRecord>;
  create?(body: Fields): Promise<RaRecord>;
  /** `version`: the one the form was loaded at, sent as If-Match (a change made since then: 412). */
  update?(id: string, body: Fields, version?: number): Promise<RaRecord>;
  delete?(id: string, version?: number): Promise<void>;
}

/** An openapi-fetch answer: `data` on success, the problem+json body in `error` otherwise. */
interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

async function unwrap<T>(pending: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok) throw toHttpError(error, response.status);
  return data as T;
}

/**
 * react-admin shows `body.errors` (field -> message) on the inputs of the same
 * name, and `root.serverError` in the notification; the API names fields by
 * their wire names, which are the inputs' sources.
 */
/** What the console says when a change was refused because the record moved on since it was loaded. */
export const STALE_RECORD = 'Someone else changed this record; reload to see their changes.';

function toHttpError(error: unknown, status: number): HttpError {
  if (status === 412) return new HttpError(STALE_RECORD, status, error);
  if (!isProblem(error)) return new HttpError(`The server answered ${status}.`, status, error);
  const fields = Object.entries(error.errors ?? {});
  const errors = fields.length
    ? {
        ...Object.fromEntries(fields.map(([field, messages]) => [field, messages.join(' ')])),
        root: { serverError: error.detail },
      }
    : undefined;
  return new HttpError(error.detail || error.title, error.status, { ...error, errors });
}

function resources(client: HealthcareClient): Record<string, ApiResource> {
  const byId = (id: string) => ({ params: { path: { id } } });
  // If-Match with the version the record was loaded at, when it has one.
  const atVersion = (id: string, version?: number) => ({
    params: { path: { id }, header: version === undefined ? {} : { 'If-Match': versionTag(version) } },
  });
  return {
    patients: {
      filters: ['search', 'gender', 'min_age', 'max_age', 'owner'] satisfies (keyof ListQuery<'adminPatientsList'>)[],
      sortable: ['name', 'created_at', 'age'] satisfies ListQuery<'adminPatientsList'>['ordering'][],
      writable: ['name', 'age', 'gender', 'address'] satisfies (keyof Schemas['UpdatePatientDto'])[],
      list: (query) =>
        unwrap(client.GET('/api/admin/patients', { params: { query: query as ListQuery<'adminPatientsList'> } })),
      getOne: (id) => unwrap(client.GET('/api/patients/{id}', byId(id))),
      create: (body) => unwrap(client.POST('/api/patients', { body: body as Schemas['CreatePatientDto'] })),
      update: (id, body, version) =>
        unwrap(client.PATCH('/api/patients/{id}', { ...atVersion(id, version), body: body as Schemas['UpdatePatientDto'] })),
      delete: (id, version) => unwrap(client.DELETE('/api/patients/{id}', atVersion(id, version))),
    },
    doctors: {
      filters: ['search', 'specialization'] satisfies (keyof ListQuery<'doctorsList'>)[],
      sortable: ['name', 'specialization', 'created_at'] satisfies ListQuery<'doctorsList'>['ordering'][],
      writable: ['name', 'specialization', 'email', 'phone'] satisfies (keyof Schemas['UpdateDoctorDto'])[],
      list: (query) => unwrap(client.GET('/api/doctors', { params: { query: query as ListQuery<'doctorsList'> } })),
      getOne: (id) => unwrap(client.GET('/api/doctors/{id}', byId(id))),
      create: (body) => unwrap(client.POST('/api/doctors', { body: body as Schemas['CreateDoctorDto'] })),
      update: (id, body, version) =>
        unwrap(client.PATCH('/api/doctors/{id}', { ...atVersion(id, version), body: body as Schemas['UpdateDoctorDto'] })),
      delete: (id, version) => unwrap(client.DELETE('/api/doctors/{id}', atVersion(id, version))),
    },
    // A record's versions, newest first (read-only): react-admin's id is the version.
    'patient-history': {
      filters: ['record'],
      sortable: [],
      writable: [],
      list: async ({ record, ...query }) => {
        const page = await unwrap(
          client.GET('/api/patients/{id}/history', { params: { path: { id: String(record) }, query: query as ListQuery<'patientsHistory'> } }),
        );
        return { ...page, results: page.results.map((entry) => ({ ...entry, id: entry.version })) };
      },
    },
    'doctor-history': {
      filters: ['record'],
      sortable: [],
      writable: [],
      list: async ({ record, ...query }) => {
        const page = await unwrap(
          client.GET('/api/doctors/{id}/history', { params: { path: { id: String(record) }, query: query as ListQuery<'doctorsHistory'> } }),
        );
        return { ...page, results: page.results.map((entry) => ({ ...entry, id: entry.version })) };
      },
    },
    // No route reads one mapping (GET /api/mappings/{id} lists a patient's doctors), so no getOne.
    mappings: {
      filters: ['patient', 'doctor', 'owner'] satisfies (keyof ListQuery<'adminMappingsList'>)[],
      sortable: [],
      writable: ['patient', 'doctor'] satisfies (keyof Schemas['CreateMappingDto'])[],
      list: (query) =>
        unwrap(client.GET('/api/admin/mappings', { params: { query: query as ListQuery<'adminMappingsList'> } })),
      create: (body) => unwrap(client.POST('/api/mappings', { body: body as Schemas['CreateMappingDto'] })),
      delete: (id) => unwrap(client.DELETE('/api/mappings/{id}', byId(id))),
    },
    // Deleted patients or doctors (one kind a page, `type`); a row leaves through the provider's restore().
    deleted: {
      filters: ['type'] satisfies (keyof ListQuery<'adminDeletedList'>)[],
      sortable: [],
      writable: [],
      list: ({ type = 'patient', ...query }) =>
        unwrap(client.GET('/api/admin/deleted', { params: { query: { ...query, type } as ListQuery<'adminDeletedList'> } })),
    },
    // Read-only. Events are numbered (seq), not ids: react-admin's id is the seq.
    'audit-events': {
      filters: ['actor', 'patient', 'resource_type', 'resource_id', 'action', 'status', 'since', 'until'] satisfies (keyof ListQuery<'adminAuditList'>)[],
      sortable: [],
      writable: [],
      list: async (query) => {
        const page = await unwrap(
          client.GET('/api/admin/audit-events', { params: { query: query as ListQuery<'adminAuditList'> } }),
        );
        return { ...page, results: page.results.map((event) => ({ ...event, id: event.seq })) };
      },
    },
    // Users register themselves (POST /api/auth/register) or an admin makes them here; the console lists, shows and edits them.
    users: {
      filters: ['search', 'role', 'is_active'] satisfies (keyof ListQuery<'adminUsersList'>)[],
      sortable: ['username', 'date_joined'] satisfies ListQuery<'adminUsersList'>['ordering'][],
      // A create sends the first four, an update only what its form changed (role, is_active).
      writable: ['username', 'email', 'password', 'role', 'is_active'] satisfies (keyof Schemas['UpdateUserDto'] | keyof Schemas['CreateUserDto'])[],
      list: (query) =>
        unwrap(client.GET('/api/admin/users', { params: { query: query as ListQuery<'adminUsersList'> } })),
      getOne: (id) => unwrap(client.GET('/api/admin/users/{id}', byId(id))),
      create: (body) => unwrap(client.POST('/api/admin/users', { body: body as Schemas['CreateUserDto'] })),
      update: (id, body) =>
        unwrap(client.PATCH('/api/admin/users/{id}', { ...byId(id), body: body as Schemas['UpdateUserDto'] })),
    },
  };
}

/** The cursor in a `next` or `previous` link (an absolute URL with `?cursor=`). */
function cursorOf(link: string | null): string | undefined {
  return link ? (new URL(link).searchParams.get('cursor') ?? undefined) : undefined;
}

/** The list's query: its own filters (`q`, react-admin's autocomplete search, is `search`) and the ordering. */
function listQuery(api: ApiResource, { filter = {}, sort, pagination }: GetListParams): Fields {
  const query: Fields = {};
  for (const [key, value] of Object.entries(filter as Fields)) {
    const name = key === 'q' ? 'search' : key;
    if (api.filters.includes(name) && value !== '' && value !== null && value !== undefined) query[name] = value;
  }
  if (sort && api.sortable.includes(sort.field)) query.ordering = `${sort.order === 'DESC' ? '-' : ''}${sort.field}`;
  query.page_size = Math.min(pagination?.perPage ?? 20, 100);
  return query;
}

/** The version a record was loaded at (patients and doctors have one). */
function versionOf(record: Fields | undefined): number | undefined {
  return typeof record?.version === 'number' ? record.version : undefined;
}

function pick(data: Fields, fields: readonly string[], previous?: Fields): Fields {
  return Object.fromEntries(
    fields
      .filter((f) => data[f] !== undefined && (previous === undefined || data[f] !== previous[f]))
      .map((f) => [f, data[f]]),
  );
}

/**
 * react-admin over the API. Lists are cursor pages: react-admin's page N is
 * read with the cursor of the `next` link of page N-1, kept per list query
 * (resource, filters, ordering, page size). A page with a next one reports
 * pageInfo instead of a total (react-admin's partial pagination); the last
 * page reports the total, which is then known.
 */
export function createDataProvider(client: HealthcareClient): DataProvider {
  const api = resources(client);
  const cursors = new Map<string, Map<number, string | undefined>>();

  function resource(name: string): ApiResource {
    const found = api[name];
    if (!found) throw new Error(`Unknown resource: ${name}`);
    return found;
  }

  type Operation = 'getOne' | 'create' | 'update' | 'delete';
  function operation<K extends Operation>(name: string, op: K): NonNullable<ApiResource[K]> {
    const fn = resource(name)[op];
    if (!fn) throw new Error(`The API cannot ${op} ${name}.`);
    return fn as NonNullable<ApiResource[K]>;
  }

  async function getList(name: string, params: GetListParams): Promise<GetListResult<RaRecord>> {
    const target = resource(name);
    const query = listQuery(target, params);
    const page = params.pagination?.page ?? 1;
    const key = JSON.stringify([name, query]);
    const known = cursors.get(key) ?? new Map<number, string | undefined>([[1, undefined]]);
    cursors.set(key, known);
    // Start from the nearest page whose cursor is known and follow `next` links:
    // after a change the cursors are dropped, and a list showing page 3 walks back there.
    const start = Math.max(...[...known.keys()].filter((p) => p <= page));
    for (let at = start; ; at += 1) {
      const cursor = known.get(at);
      const result = await target.list(cursor ? { ...query, cursor } : query);
      const next = cursorOf(result.next);
      if (!next) {
        // The last page: now the total is known ("1-3 of 3", not "1-10 of 10" for three rows).
        const total = (at - 1) * (query.page_size as number) + result.results.length;
        return { data: at === page ? result.results : [], total };
      }
      known.set(at + 1, next);
      if (at === page) return { data: result.results, pageInfo: { hasNextPage: true, hasPreviousPage: page > 1 } };
    }
  }

  async function getOne(name: string, id: string): Promise<RaRecord> {
    return operation(name, 'getOne')(id);
  }

  /** Any change moves where pages start (and deleting a patient or a doctor removes mappings): lists start afresh. */
  async function change<T>(pending: Promise<T>): Promise<T> {
    const result = await pending;
    cursors.clear();
    return result;
  }

  const writable = (name: string, data: Fields, previous?: Fields) => pick(data, resource(name).writable, previous);

  const provider = {
    getList,
    getOne: async (name: string, { id }: { id: string }) => ({ data: await getOne(name, id) }),
    getMany: async (name: string, { ids }: { ids: string[] }) => ({
      data: await Promise.all(ids.map((id) => getOne(name, id))),
    }),
    getManyReference: (
      name: string,
      { target, id, ...params }: GetListParams & { target: string; id: string | number },
    ) => getList(name, { ...params, filter: { ...params.filter, [target]: id } }),
    create: async (name: string, { data }: { data: Fields }) => ({
      data: await change(operation(name, 'create')(writable(name, data))),
    }),
    // PATCH with only the fields the form changed.
    update: async (name: string, { id, data, previousData }: { id: string; data: Fields; previousData?: Fields }) => ({
      data: await change(operation(name, 'update')(id, writable(name, data, previousData), versionOf(previousData))),
    }),
    updateMany: async (name: string, { ids, data }: { ids: string[]; data: Fields }) => {
      for (const id of ids) await change(operation(name, 'update')(id, writable(name, data)));
      return { data: ids };
    },
    // 204 No Content: react-admin wants the deleted record back.
    delete: async (name: string, { id, previousData }: { id: string; previousData?: RaRecord }) => {
      await change(operation(name, 'delete')(id, versionOf(previousData)));
      return { data: previousData ?? { id } };
    },
    deleteMany: async (name: string, { ids }: { ids: string[] }) => {
      for (const id of ids) await change(operation(name, 'delete')(id));
      return { data: ids };
    },
    // The Deleted view's Restore (resources/deleted.tsx): the record, live again.
    restore: (type: 'patient' | 'doctor', id: string) =>
      change(
        unwrap<RaRecord>(
          type === 'patient'
            ? client.POST('/api/admin/patients/{id}/restore', { params: { path: { id } } })
            : client.POST('/api/admin/doctors/{id}/restore', { params: { path: { id } } }),
        ),
      ),
  };
  return provider as DataProvider;
}

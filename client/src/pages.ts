import type { Client } from 'openapi-fetch';
import type { components, paths } from './schema.js';

type Problem = components['schemas']['ProblemDto'];

type GetOf<P> = P extends keyof paths ? (paths[P] extends { get: infer G } ? G : never) : never;
type PageBodyOf<P> = GetOf<P> extends { responses: { 200: { content: { 'application/json': infer B } } } } ? B : never;
type ParamsOf<P> = GetOf<P> extends { parameters: infer X } ? X : never;

/** The paths whose GET answers a page (`{ next, previous, results }`): every list of the API. */
export type ListPath = {
  [P in keyof paths]: PageBodyOf<P> extends { next: string | null; results: unknown[] } ? P : never;
}[keyof paths];

/** One page of the list at `P`, e.g. `PageOf<'/api/patients'>`. */
export type PageOf<P extends ListPath> = PageBodyOf<P>;
/** One item of the list at `P`, e.g. `ItemOf<'/api/patients'>` is a `PatientDto`. */
export type ItemOf<P extends ListPath> = PageOf<P> extends { results: (infer Item)[] } ? Item : never;

/** A list's parameters as for `GET`, less `cursor` (the walk follows `next` itself). */
export type ListParams<P extends ListPath> = {
  query?: Omit<NonNullable<ParamsOf<P> extends { query?: infer Q } ? Q : never>, 'cursor'>;
} & (ParamsOf<P> extends { path: infer Path } ? { path: Path } : { path?: never });

/** The params argument: required when the path has a path parameter (`/api/mappings/{id}`), optional otherwise. */
type ParamsArg<P extends ListPath> = ParamsOf<P> extends { path: object } ? [params: ListParams<P>] : [params?: ListParams<P>];

/** A failed call inside a walk: the API's problem+json body and the status. */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';

  constructor(readonly problem: Problem) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
  }

  get status(): number {
    return this.problem.status;
  }
}

interface UntypedGet {
  GET(path: string, init: unknown): Promise<{ data?: unknown; error?: unknown; response: Response }>;
}

/**
 * Every page of a list, first to last, each fetched when the loop asks for it:
 * `for await (const page of pagesOf(api, '/api/patients', { query: { ordering: 'name' } }))`.
 * The cursor of each `next` link is taken for you; breaking out of the loop
 * fetches nothing more. A refused call (a 400 for a bad parameter, a 401 once
 * the session is over, a 429) throws a {@link ProblemError}.
 */
export async function* pagesOf<P extends ListPath>(
  client: Client<paths>,
  path: P,
  ...[params]: ParamsArg<P>
): AsyncGenerator<PageOf<P>, void, undefined> {
  const get = client as unknown as UntypedGet;
  let cursor: string | null = null;
  do {
    const query = { ...params?.query, ...(cursor === null ? {} : { cursor }) };
    const { data, error, response } = await get.GET(path, { params: { path: params?.path, query } });
    if (data === undefined) throw new ProblemError(asProblem(error, response));
    const page = data as PageOf<P>;
    yield page;
    const { next } = data as { next: string | null };
    cursor = next === null ? null : cursorOf(next);
  } while (cursor !== null);
}

/**
 * Every item of a list across all its pages, in the list's order:
 * `for await (const patient of itemsOf(api, '/api/patients'))`. Pages are
 * fetched as the loop reaches them (at `page_size` items each, 20 unless set).
 */
export async function* itemsOf<P extends ListPath>(
  client: Client<paths>,
  path: P,
  ...params: ParamsArg<P>
): AsyncGenerator<ItemOf<P>, void, undefined> {
  for await (const page of pagesOf(client, path, ...params)) yield* (page as { results: ItemOf<P>[] }).results;
}

function cursorOf(next: string): string {
  const cursor = new URL(next, 'http://relative.invalid').searchParams.get('cursor');
  if (!cursor) throw new Error(`The API's next link has no cursor: ${next}`);
  return cursor;
}

/** The problem of a refused call; a body that is not one (a proxy's HTML page) becomes one. */
function asProblem(error: unknown, response: Response): Problem {
  const body = error as Partial<Problem> | undefined;
  if (typeof body?.status === 'number' && typeof body.title === 'string') return body as Problem;
  return {
    type: 'about:blank',
    title: response.statusText || 'Error',
    status: response.status,
    detail: typeof error === 'string' && error ? error.slice(0, 200) : 'The API answered without a problem+json body.',
  };
}

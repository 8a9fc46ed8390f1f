import createClient, { type Client } from 'openapi-fetch';
import { ConsistencyTokens } from './consistency.js';
import type { components, paths } from './schema.js';

export type { components, operations, paths } from './schema.js';
export { CONSISTENCY_TOKEN_HEADER, ConsistencyTokens } from './consistency.js';
export { itemsOf, pagesOf, ProblemError, type ItemOf, type ListParams, type ListPath, type PageOf } from './pages.js';

/** Every schema of the API by name, e.g. `Schemas['PatientDto']`. */
export type Schemas = components['schemas'];
/** The RFC 9457 problem+json body of every error response. */
export type Problem = components['schemas']['ProblemDto'];
/** The typed openapi-fetch client: `client.GET('/api/patients/{id}', { params: { path: { id } } })`. */
export type HealthcareClient = Client<paths>;

/**
 * The entity tag of a record's version, for If-Match (change only that
 * version, else 412) and If-None-Match (304 while unchanged):
 * `client.PATCH('/api/patients/{id}', { params: { path: { id }, header: { 'If-Match': versionTag(p.version) } }, body })`.
 */
export function versionTag(version: number): string {
  return `W/"${version}"`;
}

export interface TokenPair {
  access: string;
  refresh: string;
}

export interface ClientOptions {
  /** Where the API is, e.g. `http://localhost:3000` (no trailing `/api`). Empty: same origin. */
  baseUrl: string;
  /** Another fetch (tests, polyfills). Defaults to the global one. */
  fetch?: typeof globalThis.fetch;
  /** Sends `Authorization: Bearer <token>` when this returns a token. */
  getAccessToken?: () => string | null | undefined;
  /**
   * Read-your-writes with replicas: the X-Consistency-Token of answers is
   * remembered and sent back (a new holder by default; pass one to share it
   * between clients, `null` to send none).
   */
  consistency?: ConsistencyTokens | null;
}

const CREDENTIAL_ROUTES = new Set(['/api/auth/register', '/api/auth/login', '/api/auth/refresh', '/api/auth/logout']);

/** A plain typed client. Pair it with {@link TokenSession} for login and automatic refresh. */
export function createHealthcareClient(options: ClientOptions): HealthcareClient {
  const client = createClient<paths>({ baseUrl: options.baseUrl, fetch: options.fetch });
  const consistency = options.consistency === undefined ? new ConsistencyTokens() : options.consistency;
  if (consistency) client.use(consistency.middleware);
  const { getAccessToken } = options;
  if (getAccessToken) {
    client.use({
      onRequest({ request }) {
        const token = getAccessToken();
        if (token && !request.headers.has('Authorization')) request.headers.set('Authorization', `Bearer ${token}`);
        return request;
      },
    });
  }
  return client;
}

/** True when a value is a problem+json body (what every error response carries). */
export function isProblem(value: unknown): value is Problem {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Problem).status === 'number' &&
    typeof (value as Problem).title === 'string'
  );
}

/**
 * Holds a login's tokens in memory (never in storage a script could read),
 * adds the access token to every call, and when a call answers 401 refreshes
 * once (rotating the refresh token) and retries it. Concurrent 401s share one
 * refresh. When the refresh fails the session is over: `onSessionEnd` runs.
 */
export class TokenSession {
  readonly client: HealthcareClient;
  private tokens: TokenPair | null = null;
  private refreshing: Promise<boolean> | null = null;
  private readonly fetchImpl: typeof globalThis.fetch;

  constructor(
    private readonly options: Omit<ClientOptions, 'getAccessToken'> & { onSessionEnd?: () => void },
  ) {
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    // The retry lives in the fetch, not in a middleware: it then sees each request as finally sent,
    // after any middleware a caller adds with client.use().
    this.client = createClient<paths>({ baseUrl: options.baseUrl, fetch: (request) => this.send(request) });
    const consistency = options.consistency === undefined ? new ConsistencyTokens() : options.consistency;
    if (consistency) this.client.use(consistency.middleware);
    this.client.use({
      onRequest: ({ request, schemaPath }) => {
        // These carry their own credentials (a password or a refresh token) in the body.
        if (CREDENTIAL_ROUTES.has(schemaPath)) return request;
        const token = this.tokens?.access;
        if (token && !request.headers.has('Authorization')) request.headers.set('Authorization', `Bearer ${token}`);
        return request;
      },
    });
  }

  get loggedIn(): boolean {
    return this.tokens !== null;
  }

  get accessToken(): string | null {
    return this.tokens?.access ?? null;
  }

  /**
   * Logs in; on a bad password returns the problem instead of throwing. `otp`: the TOTP or recovery code of
   * an account with a second factor (a missing or wrong one is refused like a wrong password).
   */
  async login(username: string, password: string, otp?: string): Promise<{ ok: true } | { ok: false; problem: Problem }> {
    const { data, error } = await this.client.POST('/api/auth/login', { body: { username, password, ...(otp ? { otp } : {}) } });
    if (data) {
      this.tokens = { access: data.access, refresh: data.refresh };
      return { ok: true };
    }
    return { ok: false, problem: error as Problem };
  }

  /** Trades the refresh token for a new pair; false (and the session ends) when the API refuses. */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Ends the session on the server (best effort) and forgets the tokens. */
  async logout(): Promise<void> {
    const tokens = this.tokens;
    this.tokens = null;
    if (tokens) await this.client.POST('/api/auth/logout', { body: { refresh: tokens.refresh } }).catch(() => undefined);
  }

  private async doRefresh(): Promise<boolean> {
    const current = this.tokens;
    if (!current) return false;
    const { data, response } = await this.client.POST('/api/auth/refresh', { body: { refresh: current.refresh } });
    // A logout or another login while this was in flight wins over its answer.
    if (this.tokens !== current) return this.tokens !== null;
    if (data) {
      this.tokens = { access: data.access, refresh: data.refresh };
      return true;
    }
    // Only a refused token ends the session; a 5xx or a 429 leaves it for the next try.
    if (response.status === 400 || response.status === 401) {
      this.tokens = null;
      this.options.onSessionEnd?.();
    }
    return false;
  }

  /** Sends a request; when it carried this session's access token and got a 401, refreshes once and retries. */
  private async send(request: Request): Promise<Response> {
    const sent = request.headers.get('Authorization');
    const ours = this.tokens !== null && sent === `Bearer ${this.tokens.access}`;
    // A copy as sent, to retry it (a sent body cannot be re-read). Not for a caller's own token.
    const copy = ours ? request.clone() : null;
    const response = await this.fetchImpl(request);
    if (response.status !== 401 || !copy) return response;
    // Another call may have refreshed meanwhile: then retry with its token, without a second rotation.
    if (sent === `Bearer ${this.tokens?.access}` && !(await this.refresh())) return response;
    const token = this.tokens?.access;
    if (!token || sent === `Bearer ${token}`) return response;
    await response.body?.cancel();
    copy.headers.set('Authorization', `Bearer ${token}`);
    return this.fetchImpl(copy);
  }
}

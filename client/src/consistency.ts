import type { Middleware } from 'openapi-fetch';

/** The header a write's answer carries when the API reads from replicas, and that reads send back. */
export const CONSISTENCY_TOKEN_HEADER = 'X-Consistency-Token';

/** A WAL position `16/B374D848` as one number; undefined for anything else. */
function position(token: string): bigint | undefined {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(token);
  return match ? (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`) : undefined;
}

/**
 * Read-your-writes across instances and replicas: remembers the newest
 * X-Consistency-Token any answer carried and sends it with every later
 * request, so a page read after a write shows that write whichever instance
 * or replica serves it. Without replicas the API sends no token and this
 * does nothing.
 */
export class ConsistencyTokens {
  private newest: { token: string; at: bigint } | null = null;

  /** The token sent with requests now (null until a write's answer carried one). */
  get current(): string | null {
    return this.newest?.token ?? null;
  }

  /** Keeps `token` when it is further on than the one held. */
  remember(token: string | null): void {
    const at = token === null ? undefined : position(token);
    if (at === undefined || token === null) return;
    if (this.newest === null || at > this.newest.at) this.newest = { token, at };
  }

  /** The openapi-fetch middleware that sends and remembers the token. */
  readonly middleware: Middleware = {
    onRequest: ({ request }) => {
      if (this.newest && !request.headers.has(CONSISTENCY_TOKEN_HEADER)) request.headers.set(CONSISTENCY_TOKEN_HEADER, this.newest.token);
      return request;
    },
    onResponse: ({ response }) => {
      this.remember(response.headers.get(CONSISTENCY_TOKEN_HEADER));
      return response;
    },
  };
}

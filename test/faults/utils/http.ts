import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/** One request as the client saw it: when it started and ended (ms on one clock), and how it ended. */
export interface Outcome {
  kind: string;
  method: string;
  path: string;
  start: number;
  /** When the whole request had been handed to the kernel (undefined if it never was). */
  written?: number;
  end: number;
  /** The HTTP status; undefined when the request ended without an answer (see error). */
  status?: number;
  /** ECONNREFUSED, ECONNRESET, TIMEOUT...: why no answer came. */
  error?: string;
  body?: any;
  headers?: Record<string, string | string[] | undefined>;
}

export const now = () => performance.now();

export const duration = (o: Outcome) => o.end - o.start;

export const succeeded = (o: Outcome) => o.status !== undefined && o.status >= 200 && o.status < 300;

export interface SendOptions {
  token?: string;
  body?: unknown;
  /** The client gives up after this long (recorded as error TIMEOUT, with the time it waited). */
  timeoutMs?: number;
  /** Keep-alive connections by default (as a load balancer's); `false`: a new connection, closed after (as a kubelet's probe). */
  agent?: Agent | false;
  kind?: string;
  /** More request headers (If-Match, Idempotency-Key). */
  headers?: Record<string, string>;
  /** Called once the whole request has been handed to the kernel. */
  onWritten?: () => void;
  /** Closes the connection 20 ms after the request was sent, before any answer: the answer is lost (error DROPPED), the request was not. */
  dropAnswer?: boolean;
}

/**
 * HTTP over node:http rather than fetch, so that a refused or reset
 * connection is told apart from an answer, and a hung request is timed.
 */
export class FaultsClient {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });

  constructor(readonly baseUrl: string) {}

  send(method: string, path: string, options: SendOptions = {}): Promise<Outcome> {
    const url = new URL(path, this.baseUrl);
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const outcome: Outcome = { kind: options.kind ?? `${method} ${path}`, method, path, start: now(), end: 0 };
    return new Promise((resolve) => {
      let settled = false;
      let written: number | undefined;
      const finish = (fields: Partial<Outcome>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...outcome, ...fields, written, end: now() });
      };
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          method,
          path: url.pathname + url.search,
          headers,
          agent: options.agent === undefined ? this.agent : options.agent,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            let body: unknown = text;
            if (/json/.test(res.headers['content-type'] ?? '') && text) {
              try {
                body = JSON.parse(text);
              } catch {
                body = text;
              }
            }
            finish({ status: res.statusCode, body, headers: res.headers });
          });
          res.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message }));
        },
      );
      const timer = setTimeout(() => {
        finish({ error: 'TIMEOUT' });
        req.destroy();
      }, options.timeoutMs ?? 20_000);
      req.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message }));
      req.on('finish', () => {
        written = now();
        options.onWritten?.();
        if (options.dropAnswer) {
          setTimeout(() => {
            finish({ error: 'DROPPED' });
            req.destroy();
          }, 20);
        }
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Polls a path at a fixed interval (each probe on a new connection, as a kubelet's) until stopped. */
export class Prober {
  readonly outcomes: Outcome[] = [];
  private running = true;
  private readonly pending = new Set<Promise<void>>();
  private loop: Promise<void>;

  constructor(client: FaultsClient, path: string, intervalMs: number, timeoutMs = 5000) {
    this.loop = (async () => {
      while (this.running) {
        const next = now() + intervalMs;
        const probe = client.send('GET', path, { agent: false, timeoutMs, kind: path });
        // Probes overlap when one is slow: a hung readiness check must not hide the next.
        const recorded = probe.then((o) => {
          this.outcomes.push(o);
          this.pending.delete(recorded);
        });
        this.pending.add(recorded);
        await sleep(Math.max(0, next - now()));
      }
    })();
  }

  async stop(): Promise<Outcome[]> {
    this.running = false;
    await this.loop;
    await Promise.all(this.pending);
    return this.outcomes.sort((a, b) => a.start - b.start);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

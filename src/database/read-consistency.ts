import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { mergeMap, Observable } from 'rxjs';
import { ValidationFailedException } from '../common/problem.js';
import { parseLsn } from './lsn.js';
import { ReplicaSet } from './replicas.js';

/** The header a write's answer carries and a later read sends back (read-your-writes across instances and replicas). */
export const CONSISTENCY_TOKEN_HEADER = 'X-Consistency-Token';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The position a request's reads must see, from its consistency token; unset: any replica within REPLICA_MAX_LAG_MS. */
const required = new AsyncLocalStorage<bigint | undefined>();

/** The WAL position the current request's reads must have, if it sent a consistency token. */
export function requiredPosition(): bigint | undefined {
  return required.getStore();
}

/** Runs `work` as a request whose reads must see at least `position`. */
export function withRequiredPosition<T>(position: bigint | undefined, work: () => T): T {
  return required.run(position, work);
}

/** The token of an X-Consistency-Token header; a 400 naming the header when it is not one. */
export function parseConsistencyToken(raw: string | string[]): bigint {
  const position = typeof raw === 'string' ? parseLsn(raw.trim()) : undefined;
  if (position === undefined) {
    throw new ValidationFailedException(
      { [CONSISTENCY_TOKEN_HEADER]: [`${CONSISTENCY_TOKEN_HEADER} must be the value of that header on an earlier answer, such as 0/3000148`] },
      `The ${CONSISTENCY_TOKEN_HEADER} header is malformed.`,
    );
  }
  return position;
}

interface HttpRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
}
interface HttpReply {
  header(name: string, value: string): unknown;
}

/**
 * Read-your-writes when reads may go to replicas (replicas.ts). A write's
 * successful answer carries `X-Consistency-Token`: the primary's WAL position
 * after its commit. A request that sends a token back has its stale-allowed
 * reads (lists, searches, history) served only by a replica that has replayed
 * that far, else by the primary. Without replicas, writes carry no token (every
 * read is on the primary) and a token sent is still checked for form.
 */
@Injectable()
export class ConsistencyTokenInterceptor implements NestInterceptor {
  constructor(private readonly replicas: ReplicaSet) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<HttpRequest>();
    const raw = request.headers[CONSISTENCY_TOKEN_HEADER.toLowerCase()];
    const position = raw === undefined ? undefined : parseConsistencyToken(raw);
    const handled = (): Observable<unknown> => {
      if (!this.replicas.enabled || !WRITES.has(request.method)) return next.handle();
      const reply = http.getResponse<HttpReply>();
      return next.handle().pipe(
        mergeMap(async (body: unknown) => {
          // After the handler's transaction committed: this position includes the write. The write is done
          // whatever happens here: a primary that stops answering now costs the token, never the answer.
          const position = await this.replicas.primaryPosition().catch(() => undefined);
          if (position !== undefined) reply.header(CONSISTENCY_TOKEN_HEADER, position);
          return body;
        }),
      );
    };
    if (position === undefined) return handled();
    return new Observable((subscriber) => withRequiredPosition(position, () => handled().subscribe(subscriber)));
  }
}

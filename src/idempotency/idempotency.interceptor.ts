import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Observable, of, throwError } from 'rxjs';
import { catchError } from 'rxjs/operators';
import { AuditService } from '../audit/audit.service.js';
import { AppConfig } from '../config/app-config.js';
import { withWriteHooks } from '../database/write-transaction.js';
import {
  IDEMPOTENT_REPLAYED_HEADER,
  IdempotencyKeyInUseException,
  IdempotencyKeyReusedException,
  lockKeyOf,
  parseIdempotencyKey,
  REPLAY_STATUS,
  requestDigest,
} from './idempotency.js';
import { IdempotencyRepository, type StoredAnswer } from './idempotency.repository.js';
import { IDEMPOTENT, type IdempotentSpec } from './idempotent.decorator.js';

/** Thrown inside the write's transaction when the key's answer was stored meanwhile: the transaction rolls back and the answer is replayed. */
class StoredMeanwhile extends Error {
  constructor(readonly answer: StoredAnswer) {
    super('stored meanwhile');
  }
}

type KeyedRequest = FastifyRequest & { user?: { id: string } };

/**
 * Idempotency-Key on a create. Without the header: nothing changes. With it:
 * a stored unexpired answer under the caller and key is replayed at once
 * (same status and body, `Idempotent-Replayed: true`; the same key with
 * another request is 422). Otherwise the create runs with write hooks (see
 * database/write-transaction.ts) that, inside its transaction, first take the
 * key's advisory lock without waiting (taken: a first request with the key is
 * still running, 409 with Retry-After) and look again, and last store the
 * answer, so the key and the effect commit together or not at all. A refused
 * create (4xx) stores nothing: its retry runs again.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly ttlMs: number;

  constructor(
    private readonly answers: IdempotencyRepository,
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
    config: AppConfig,
  ) {
    this.ttlMs = config.records.idempotencyTtlSeconds * 1000;
  }

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const request = context.switchToHttp().getRequest<KeyedRequest>();
    const raw = request.headers['idempotency-key'];
    if (raw === undefined) return next.handle();
    const key = parseIdempotencyKey(raw);
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const spec = this.reflector.get<IdempotentSpec>(IDEMPOTENT, context.getHandler());
    const digest = requestDigest(`${request.method} ${request.routeOptions?.url ?? ''}`, request.body);
    // The caller's keys are theirs alone; an unauthenticated register's are bound to its body as well.
    const scope = request.user ? `user:${request.user.id}` : `anonymous:${digest}`;

    const stored = await this.answers.find(scope, key);
    if (stored) return of(await this.replay(stored, digest, reply, spec));

    const hooks = {
      before: async (manager: Parameters<IdempotencyRepository['tryLock']>[1]) => {
        if (!(await this.answers.tryLock(lockKeyOf(scope, key), manager))) throw new IdempotencyKeyInUseException();
        const meanwhile = await this.answers.find(scope, key, manager);
        if (meanwhile) throw new StoredMeanwhile(meanwhile);
      },
      after: async (manager: Parameters<IdempotencyRepository['insert']>[1], result: unknown) => {
        const expiresAt = new Date(Date.now() + this.ttlMs);
        await this.answers.insert({ scope, key, requestDigest: digest, status: REPLAY_STATUS, body: JSON.stringify(result), expiresAt }, manager);
      },
    };
    return new Observable((subscriber) =>
      withWriteHooks(hooks, () =>
        next
          .handle()
          .pipe(
            catchError((error: unknown) =>
              error instanceof StoredMeanwhile ? this.replay(error.answer, digest, reply, spec) : throwError(() => error),
            ),
          )
          .subscribe(subscriber),
      ),
    );
  }

  /** The stored answer again, if this is the request it answered; recorded as a disclosure of the record it names. */
  private async replay(answer: StoredAnswer, digest: string, reply: FastifyReply, spec: IdempotentSpec): Promise<unknown> {
    if (answer.requestDigest !== digest) throw new IdempotencyKeyReusedException();
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    const patientId = spec.patientOf?.(body);
    await this.audit.record({
      action: 'read',
      resourceType: spec.resource,
      resourceId: typeof body.id === 'string' ? body.id : null,
      patientId: typeof patientId === 'string' ? patientId : null,
      status: answer.status,
      reason: 'idempotent_replay',
    });
    reply.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
    return body;
  }
}

import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import type { AuditResourceType } from '../audit/audit-event.entity.js';
import { ApiProblems } from '../common/api-docs.js';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER } from './idempotency.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';

export const IDEMPOTENT = 'idempotent';

/** The 201's header on a replayed answer, for its ApiCreatedResponse. */
export const REPLAYED_HEADER = {
  [IDEMPOTENT_REPLAYED_HEADER]: {
    description: 'true when this is the stored answer to an earlier request with the same Idempotency-Key (nothing was created this time).',
    schema: { type: 'string', example: 'true' },
  },
};

/** What the audit trail records when a retry is answered from a stored answer. */
export interface IdempotentSpec {
  resource: AuditResourceType;
  /** The patient the answer names (a patient's own id, a mapping's patient), if any. */
  patientOf?: (body: Record<string, unknown>) => unknown;
}

const IN_USE = {
  status: 409,
  detail: `A request with this ${IDEMPOTENCY_KEY_HEADER} is still being processed; retry shortly to get its answer.`,
};

/**
 * A create that accepts Idempotency-Key (draft-ietf-httpapi-idempotency-key-header):
 * its first answer is stored with the write, and a retry with the same key and
 * body gets it again (`Idempotent-Replayed: true`) without a second write.
 * `documentsConflict`: the route already documents a 409 of its own (its
 * example stays; the key's 409 is described on the header).
 */
export function Idempotent(spec: IdempotentSpec, { documentsConflict = false } = {}) {
  return applyDecorators(
    SetMetadata(IDEMPOTENT, spec),
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: IDEMPOTENCY_KEY_HEADER,
      required: false,
      description:
        'Makes a retry safe: 1-255 printable ASCII characters, new for each new request (a UUID will do). A retry with the same key and the same body, ' +
        'within IDEMPOTENCY_TTL (24 h by default), gets the first answer again with Idempotent-Replayed: true and creates nothing; the same key with ' +
        'another body is 422; while the first request with the key is still running, 409 with Retry-After.',
      schema: { type: 'string', maxLength: 255, example: '3f1c9a52-8d2e-4b61-9d7a-0c5e2f8b1a44' },
    }),
    ApiProblems(
      { status: 422, detail: `This ${IDEMPOTENCY_KEY_HEADER} was already used with a different request; use a new key for a new request.` },
      ...(documentsConflict ? [] : [IN_USE]),
    ),
  );
}

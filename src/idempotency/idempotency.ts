import { createHash } from 'node:crypto';
import { ConflictException, HttpStatus, UnprocessableEntityException } from '@nestjs/common';
import { ValidationFailedException } from '../common/problem.js';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

const PRINTABLE = /^[\x20-\x7E]{1,255}$/;

/**
 * The key of an Idempotency-Key header: 1-255 printable ASCII characters,
 * sent as they are (`Idempotency-Key: 8e03978e-...`, as most clients do) or
 * as the draft's Structured Field string (`"8e03978e-..."`, with `\"` and
 * `\\` escapes; a key that starts with a quote must be one). Anything else
 * is a 400 naming the header. (Node joins a repeated header with ", ": that
 * is one key, as any proxy would pass it.)
 */
export function parseIdempotencyKey(raw: string | string[]): string {
  const bad = () =>
    new ValidationFailedException(
      { [IDEMPOTENCY_KEY_HEADER]: [`${IDEMPOTENCY_KEY_HEADER} must be one key of 1-255 printable ASCII characters`] },
      `The ${IDEMPOTENCY_KEY_HEADER} header is malformed.`,
    );
  if (Array.isArray(raw)) throw bad();
  let key = raw;
  if (raw.startsWith('"')) {
    // A Structured Field string: quoted, only \" and \\ are escapes, and no bare quote inside.
    if (raw.length < 2 || !raw.endsWith('"')) throw bad();
    const inner = raw.slice(1, -1);
    if (!/^(?:[^"\\]|\\["\\])*$/.test(inner)) throw bad();
    key = inner.replace(/\\(["\\])/g, '$1');
  }
  if (!PRINTABLE.test(key)) throw bad();
  return key;
}

/** JSON with every object's keys sorted, recursively: two bodies that mean the same have the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What a retry must repeat: the route and the body, as a SHA-256 of their canonical form. */
export function requestDigest(route: string, body: unknown): string {
  return createHash('sha256').update(route).update('\n').update(canonicalJson(body ?? null)).digest('hex');
}

/** The advisory lock's second key for one scope and key: 32 bits of their hash. */
export function lockKeyOf(scope: string, key: string): number {
  return createHash('sha256').update(scope).update('\0').update(key).digest().readInt32BE(0);
}

/** 409: the first request with this key is still running; try again shortly (its answer is then replayed). */
export class IdempotencyKeyInUseException extends ConflictException {
  constructor() {
    super({
      message: `A request with this ${IDEMPOTENCY_KEY_HEADER} is still being processed; retry shortly to get its answer.`,
      retryAfter: 1,
    });
  }
}

/** 422: the key was first used with another request (another body or route). */
export class IdempotencyKeyReusedException extends UnprocessableEntityException {
  constructor() {
    super(
      `This ${IDEMPOTENCY_KEY_HEADER} was already used with a different request; use a new key for a new request.`,
    );
  }
}

export const REPLAY_STATUS = HttpStatus.CREATED;

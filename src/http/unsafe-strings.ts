import { BadRequestException } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fieldLabel, isUnstorable as isUnsafe } from '../common/field-names.js';
import { ValidationFailedException } from '../common/problem.js';

/**
 * The first string (key or value) that PostgreSQL could not store as sent:
 * one with a NUL character or a lone UTF-16 surrogate. Returns its path.
 */
export function findUnsafeString(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return isUnsafe(value) ? path || '(body)' : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findUnsafeString(value[i], `${path}[${i}]`);
      if (hit) return hit;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      if (isUnsafe(key)) return childPath;
      const hit = findUnsafeString(child, childPath);
      if (hit) return hit;
    }
  }
  return undefined;
}

/** A 400 naming the field in `errors`, as a validation error does. */
export function unsafeStringError(path: string): ValidationFailedException {
  const label = fieldLabel(path);
  // The detail echoes the path only when it is itself printable: a key can be the unsafe string.
  const where = isUnsafe(path) ? 'A field name' : label;
  return new ValidationFailedException(
    { [label]: [`${label} contains a NUL character or an unpaired surrogate, which cannot be stored`] },
    `${where} contains a NUL character or an unpaired surrogate, which cannot be stored.`,
  );
}

/** No list route takes more than a dozen parameters. */
export const MAX_QUERY_PARAMS = 64;

/**
 * Query strings are checked as bodies are: PostgreSQL cannot store NUL or
 * lone surrogates; and a query with more parameters than any route takes is
 * refused before validation would list each one.
 */
export function registerQueryCheck(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', async (request: FastifyRequest) => {
    const query = request.query;
    if (query && typeof query === 'object' && Object.keys(query).length > MAX_QUERY_PARAMS) {
      throw new BadRequestException(`A query string with more than ${MAX_QUERY_PARAMS} parameters is not accepted.`);
    }
    const unsafe = findUnsafeString(query);
    if (unsafe) throw unsafeStringError(unsafe);
  });
}

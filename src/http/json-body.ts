import { BadRequestException } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { fieldLabel } from '../common/field-names.js';
import { ValidationFailedException } from '../common/problem.js';
import { findJsonLimitBreach, type JsonLimitBreach, jsonLimitFieldMessage, jsonLimitMessage } from './json-limits.js';
import { findUnsafeString, unsafeStringError } from './unsafe-strings.js';

/** Bodies larger than this answer 413. */
export const BODY_LIMIT = 102_400;

/**
 * The only body parser: application/json (any charset). Other content types
 * answer 415; prototype-poisoning keys and malformed JSON 400; bodies beyond
 * the shape bounds of json-limits.ts 400 before they are parsed; an empty
 * body parses as no body. Refusals about one field name it in `errors`, as
 * validation does.
 */
export function registerJsonParser(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (req, body, done) => {
    const text = body as string;
    // An empty body is no body, as in DRF: a client that always sends
    // Content-Type: application/json can still POST to /api/auth/logout-all/.
    if (text === '') {
      done(null, undefined);
      return;
    }
    const breach = findJsonLimitBreach(text);
    if (breach) {
      done(limitError(breach), undefined);
      return;
    }
    parse(req, text, (err, parsed) => {
      if (err) {
        done(err, undefined);
        return;
      }
      // Every route takes an object; null, an array or a bare value is refused here, once, for all.
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        done(new BadRequestException('The request body must be a JSON object.'), undefined);
        return;
      }
      const unsafe = findUnsafeString(parsed);
      done(unsafe ? unsafeStringError(unsafe) : null, parsed);
    });
  });
}

/** A breach inside a field names the field (its wire name); one of the body itself has only the detail. */
function limitError(breach: JsonLimitBreach): BadRequestException | ValidationFailedException {
  const detail = jsonLimitMessage(breach.limit);
  const name = breach.field === undefined ? undefined : decodeKey(breach.field);
  if (name === undefined) return new BadRequestException(detail);
  const label = fieldLabel(name);
  return new ValidationFailedException({ [label]: [jsonLimitFieldMessage(label, breach.limit)] }, detail);
}

/** A key as the JSON text wrote it (quotes and escapes included) -> the key; undefined if malformed. */
function decodeKey(literal: string): string | undefined {
  try {
    const key: unknown = JSON.parse(literal);
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

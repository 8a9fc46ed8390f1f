import { BadRequestException } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';

/** Bodies larger than this answer 413. */
export const BODY_LIMIT = 102_400;
/** Deeper JSON answers 400 before it is parsed. */
export const MAX_JSON_DEPTH = 32;

/** Counts the nesting of a JSON text without parsing it (strings are skipped). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) max = depth;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return max;
}

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

function isUnsafe(s: string): boolean {
  return s.includes('\u0000') || !s.isWellFormed();
}

export function unsafeStringError(path: string): BadRequestException {
  // The path is echoed only when it is itself printable: a key can be the unsafe string.
  const where = isUnsafe(path) ? 'A field name' : path;
  return new BadRequestException(`${where} contains a NUL character or an unpaired surrogate, which cannot be stored.`);
}

/**
 * The only body parser: application/json (any charset). Other content types
 * answer 415; prototype-poisoning keys, malformed JSON and too-deep nesting 400;
 * an empty body parses as no body.
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
    if (jsonDepth(text) > MAX_JSON_DEPTH) {
      done(new BadRequestException(`JSON nested deeper than ${MAX_JSON_DEPTH} levels is not accepted.`), undefined);
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

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpException } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { BODY_LIMIT, findUnsafeString, jsonDepth, MAX_JSON_DEPTH, registerJsonParser, unsafeStringError } from './json-body.js';

describe('jsonDepth', () => {
  it.each([
    ['1', 0],
    ['"x"', 0],
    ['{}', 1],
    ['[]', 1],
    ['{"a":{"b":[1,2,{"c":3}]}}', 4],
    ['[[],[],[[]]]', 3],
    ['{"a":[]} ', 2],
  ])('%s is %d deep', (text, depth) => {
    expect(jsonDepth(text)).toBe(depth);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(jsonDepth('{"a":"[[[{{{"}')).toBe(1);
    expect(jsonDepth('{"a":"\\"[[[[","b":"\\\\"}')).toBe(1);
    expect(jsonDepth('["\\\\",[["x"]]]')).toBe(3);
  });

  it('measures the deepest branch, not the sum', () => {
    expect(jsonDepth('[[[]],[[]],[[]]]')).toBe(3);
  });
});

describe('findUnsafeString', () => {
  it.each([
    ['a NUL', { name: 'a\u0000b' }, 'name'],
    ['a lone high surrogate', { name: 'a\ud800' }, 'name'],
    ['a lone low surrogate', { name: '\udc00b' }, 'name'],
    ['a reversed pair', { name: '\ude7a\ud83e' }, 'name'],
    ['a nested value', { a: { b: ['ok', 'x\u0000'] } }, 'a.b[1]'],
    ['a key', { 'k\u0000': 1 }, 'k\u0000'],
    ['a nested key', { a: { '\ud800': 'x' } }, 'a.\ud800'],
    ['a top-level string', 'x\u0000', '(body)'],
    ['an array item', ['ok', '\ud800'], '[1]'],
  ])('finds %s', (_kind, value, path) => {
    expect(findUnsafeString(value)).toBe(path);
  });

  it.each([
    ['plain text', { name: 'Grace Hopper', address: 'Straße 5\nBerlin\t' }],
    ['a paired surrogate (emoji)', { name: 'Dr 🩺', tags: ['\ud83e\ude7a'] }],
    ['non-strings', { a: 1, b: true, c: null, d: [1.5, -0], e: {} }],
    ['a query object', { search: 'abc', page_size: '20' }],
  ])('passes %s', (_kind, value) => {
    expect(findUnsafeString(value)).toBeUndefined();
  });

  it('passes null, undefined and numbers', () => {
    expect(findUnsafeString(null)).toBeUndefined();
    expect(findUnsafeString(undefined)).toBeUndefined();
    expect(findUnsafeString(0)).toBeUndefined();
  });
});

describe('unsafeStringError', () => {
  it('is a 400 naming the path', () => {
    const error = unsafeStringError('address');
    expect(error.getStatus()).toBe(400);
    expect(error.message).toMatch(/^address contains a NUL character or an unpaired surrogate/);
  });
});

describe(registerJsonParser.name, () => {
  let fastify: FastifyInstance;
  let baseUrl: string;

  beforeAll(async () => {
    fastify = new FastifyAdapter({ bodyLimit: BODY_LIMIT }).getInstance() as unknown as FastifyInstance;
    registerJsonParser(fastify);
    // Nest's filter renders these in the app; here the status and message are enough.
    fastify.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
      const status = error instanceof HttpException ? error.getStatus() : (error.statusCode ?? 500);
      void reply.status(status).send({ message: error.message });
    });
    fastify.post('/echo', async (request) => ({ body: request.body ?? 'no body' }));
    // Real HTTP: fastify.inject's light-my-request needs require(esm), which jest lacks on Node 20.
    baseUrl = await fastify.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => fastify.close());

  /** fetch sends no Content-Type for a string body only when told none. */
  const post = async (payload: string, contentType?: string) => {
    const res = await fetch(`${baseUrl}/echo`, {
      method: 'POST',
      body: new TextEncoder().encode(payload),
      headers: contentType === undefined ? {} : { 'content-type': contentType },
    });
    const text = await res.text();
    return { statusCode: res.status, json: () => JSON.parse(text) };
  };

  it('parses application/json, with or without a charset', async () => {
    for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON']) {
      const res = await post('{"a":[1,"x"]}', type);
      expect({ type, status: res.statusCode, body: res.json() }).toEqual({ type, status: 200, body: { body: { a: [1, 'x'] } } });
    }
  });

  it('an empty body is no body', async () => {
    const res = await post('', 'application/json');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ body: 'no body' });
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml'])(
    '415 for %s',
    async (type) => {
      expect((await post('{}', type)).statusCode).toBe(415);
    },
  );

  it('415 for a body without a Content-Type', async () => {
    expect((await post('{}')).statusCode).toBe(415);
  });

  it('400 for malformed JSON', async () => {
    expect((await post('{"a":', 'application/json')).statusCode).toBe(400);
  });

  it(`400 for nesting deeper than ${MAX_JSON_DEPTH}; ${MAX_JSON_DEPTH} is parsed`, async () => {
    // {"a":[[...]]}: `depth` levels in all, the outer object included.
    const nested = (depth: number) => `{"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
    const deep = await post(nested(MAX_JSON_DEPTH + 1), 'application/json');
    expect(deep.statusCode).toBe(400);
    expect(deep.json().message).toMatch(/nested deeper than 32/);
    expect((await post(nested(MAX_JSON_DEPTH), 'application/json')).statusCode).toBe(200);
  });

  it.each(['null', '[]', '[{}]', '"text"', '42', 'true'])('400 for a body that is not an object: %s', async (raw) => {
    const res = await post(raw, 'application/json');
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/must be a JSON object/);
  });

  it.each(['{"__proto__":{"x":1}}', '{"a":{"constructor":{"prototype":{"x":1}}}}'])('400 for prototype poisoning %s', async (raw) => {
    expect((await post(raw, 'application/json')).statusCode).toBe(400);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it.each(['{"a":"\\u0000"}', '{"a":"\\ud800"}', '{"\\udfff":1}'])('400 for an unstorable string in %s', async (raw) => {
    const res = await post(raw, 'application/json');
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/NUL character or an unpaired surrogate/);
  });

  it(`413 above ${BODY_LIMIT} bytes; exactly ${BODY_LIMIT} is parsed`, async () => {
    const ofSize = (bytes: number) => `{"a":"${'x'.repeat(bytes - 8)}"}`;
    expect((await post(ofSize(BODY_LIMIT), 'application/json')).statusCode).toBe(200);
    expect((await post(ofSize(BODY_LIMIT + 1), 'application/json')).statusCode).toBe(413);
  });
});

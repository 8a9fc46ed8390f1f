import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpException } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { BODY_LIMIT, registerJsonParser } from './json-body.js';
import { MAX_JSON_DEPTH, MAX_OBJECT_KEYS, MAX_TOTAL_KEYS } from './json-limits.js';

describe(registerJsonParser.name, () => {
  let fastify: FastifyInstance;
  let baseUrl: string;

  beforeAll(async () => {
    fastify = new FastifyAdapter({ bodyLimit: BODY_LIMIT }).getInstance() as unknown as FastifyInstance;
    registerJsonParser(fastify);
    // Nest's filter renders these in the app; here the status and message are enough.
    fastify.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
      const status = error instanceof HttpException ? error.getStatus() : (error.statusCode ?? 500);
      void reply.status(status).send({ message: error.message, errors: (error as { errors?: unknown }).errors });
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

  it(`400 for more than ${MAX_OBJECT_KEYS} keys (thousands of unknown keys are refused unparsed), naming the limit`, async () => {
    const keys = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',')}}`;
    expect((await post(keys(MAX_OBJECT_KEYS), 'application/json')).statusCode).toBe(200);
    for (const n of [MAX_OBJECT_KEYS + 1, 5_000]) {
      const res = await post(keys(n), 'application/json');
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toContain(`more than ${MAX_OBJECT_KEYS} keys`);
    }
    const spread = `{${Array.from({ length: 8 }, (_, i) => `"o${i}":${keys(40)}`).join(',')}}`;
    const res = await post(spread, 'application/json');
    expect(res.json()).toEqual({ message: expect.stringContaining(`more than ${MAX_TOTAL_KEYS} keys in all`), errors: { o6: [expect.any(String)] } });
  });

  it('a refusal inside a field names the field in errors, as validation does', async () => {
    const deep = await post(`{"name":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`, 'application/json');
    expect(deep.statusCode).toBe(400);
    expect(deep.json().errors).toEqual({ name: [`name is nested deeper than ${MAX_JSON_DEPTH} levels`] });
    const nul = await post('{"name":"ok","address":"a\\u0000b"}', 'application/json');
    expect(nul.json().errors).toEqual({ address: ['address contains a NUL character or an unpaired surrogate, which cannot be stored'] });
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

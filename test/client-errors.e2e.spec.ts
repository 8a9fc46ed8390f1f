import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { rawRequest } from './utils/http.js';
import { expectProblem } from './utils/problem.js';

/** Sends bytes on a fresh TCP connection and returns everything the server writes back. */
function sendRaw(baseUrl: string, bytes: string): Promise<string> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(bytes));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('Requests that never become requests (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('headers or a URL too large: 431 problem+json with the security headers', async () => {
    const res = await rawRequest(t.baseUrl, 'GET', `/api/patients/?search=${'a'.repeat(20_000)}`, {});
    expectProblem(res, 431);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n'],
    ['a Content-Length that is not a number', 'POST /api/auth/login/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n'],
  ])('%s: 400 problem+json', async (_label, bytes) => {
    const text = await sendRaw(t.baseUrl, bytes);
    const [head, body] = text.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(head).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(body)).toMatchObject({ type: 'about:blank', status: 400, title: 'Bad Request' });
  });
});

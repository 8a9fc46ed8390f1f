import { expect } from '@jest/globals';
import type { HttpResponse } from './http.js';

/**
 * Asserts an RFC 9457 problem+json error: its status, its shape, and (for
 * validation errors) exactly which fields it names.
 */
export function expectProblem(res: HttpResponse, status: number, fields?: string[]): void {
  expect({ status: res.status, contentType: res.headers.get('content-type') }).toEqual({
    status,
    contentType: expect.stringMatching(/^application\/problem\+json(; charset=utf-8)?$/),
  });
  expect(res.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) });
  if (fields) expect(Object.keys(res.body.errors ?? {}).sort()).toEqual([...fields].sort());
  // Internals never reach the client.
  expect(res.text).not.toMatch(/stack|at \w+ \(|QueryFailedError|SELECT |INSERT |node_modules/);
}

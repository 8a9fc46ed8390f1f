import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from './utils/app.js';
import { rawRequest } from './utils/http.js';
import { expectProblem } from './utils/problem.js';

const PAGE = '<!doctype html><title>console</title><script type="module" src="/admin/assets/app-abc123.js"></script>';

describe('Staff console serving (e2e)', () => {
  describe('when built', () => {
    let t: TestApp;
    let dir: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'hc-console-'));
      mkdirSync(join(dir, 'assets'));
      writeFileSync(join(dir, 'index.html'), PAGE);
      writeFileSync(join(dir, 'assets', 'app-abc123.js'), 'console.log("console")');
      writeFileSync(join(tmpdir(), 'hc-console-secret.txt'), 'outside');
      t = await createTestApp({ ADMIN_CONSOLE_DIR: dir });
    });
    afterAll(async () => {
      await t?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it.each(['/admin', '/admin/', '/admin/index.html'])('%s serves the page, never cached stale, under the console CSP', async (path) => {
      const res = await t.http.get(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.text).toBe(PAGE);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    });

    it('serves content-hashed assets cacheable for a year', async () => {
      const res = await t.http.get('/admin/assets/app-abc123.js');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^(application|text)\/javascript/);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    });

    it('answers a missing file with a problem+json 404', async () => {
      expectProblem(await t.http.get('/admin/assets/missing.js'), 404);
    });

    it.each(['/admin/../hc-console-secret.txt', '/admin/..%2fhc-console-secret.txt', '/admin/%2e%2e/hc-console-secret.txt'])(
      'never serves a file outside its directory: %s',
      async (path) => {
        const res = await rawRequest(t.baseUrl, 'GET', path, { host: 'localhost' });
        expect([400, 403, 404]).toContain(res.status);
        expect(res.text).not.toContain('outside');
      },
    );

    it('leaves the API CSP on API routes', async () => {
      const res = await t.http.get('/health');
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    });
  });

  describe('when not built', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ ADMIN_CONSOLE_DIR: join(tmpdir(), 'hc-console-does-not-exist') });
    });
    afterAll(() => t?.close());

    it.each(['/admin', '/admin/', '/admin/assets/app.js'])('%s says how to build it (404 problem)', async (path) => {
      const res = await t.http.get(path);
      expectProblem(res, 404);
      expect(res.body.detail).toBe('The staff console is not built: run `npm run build`.');
    });
  });
});

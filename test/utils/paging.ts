import { expect } from '@jest/globals';
import type { TestApp } from './app.js';
import type { HttpResponse } from './http.js';

export interface Row {
  id: string;
  name: string;
  created_at: string;
  [key: string]: unknown;
}
export interface Page {
  next: string | null;
  previous: string | null;
  results: Row[];
}

export const ids = (rows: Row[]) => rows.map((r) => r.id);

/** Walking a list's links over HTTP, for the feature specs' ordering and filter tests; `app` is read when a walk runs (after beforeAll). */
export function paging(app: () => TestApp) {
  /** GETs a next/previous link, which must be an absolute URL on this server. */
  async function follow(url: string, token: string): Promise<HttpResponse<Page>> {
    const parsed = new URL(url);
    expect(parsed.origin).toBe(app().baseUrl);
    const res = await app().http.get<Page>(`${parsed.pathname}${parsed.search}`, { token });
    expect(res.status).toBe(200);
    return res;
  }

  /** Follows next from the first page of `path`, returning every page. */
  async function walkForward(path: string, token: string): Promise<Page[]> {
    const first = await app().http.get<Page>(path, { token });
    expect(first.status).toBe(200);
    const pages = [first.body];
    while (pages[pages.length - 1].next) pages.push((await follow(pages[pages.length - 1].next!, token)).body);
    return pages;
  }

  /** Follows previous from `last`, returning the pages met, `last` excluded, nearest first. */
  async function walkBackward(last: Page, token: string): Promise<Page[]> {
    const pages: Page[] = [];
    let url = last.previous;
    while (url) {
      const page = (await follow(url, token)).body;
      pages.push(page);
      url = page.previous;
    }
    return pages;
  }

  /**
   * The contract of a cursor list under one ordering and filter: following
   * next visits every row of the one-page answer exactly once and in the same
   * order, and following previous from the last page gives the same pages
   * back in reverse. Returns the rows in order.
   */
  async function expectConsistentPaging(path: string, token: string, pageSize: number, total: number): Promise<Row[]> {
    const sep = path.includes('?') ? '&' : '?';
    const whole = await app().http.get<Page>(`${path}${sep}page_size=100`, { token });
    expect(whole.status).toBe(200);
    expect(whole.body.results).toHaveLength(total);
    expect(whole.body.next).toBeNull();
    expect(whole.body.previous).toBeNull();

    const forward = await walkForward(`${path}${sep}page_size=${pageSize}`, token);
    const visited = forward.flatMap((p) => p.results);
    expect(ids(visited)).toEqual(ids(whole.body.results));
    expect(new Set(ids(visited)).size).toBe(total);
    expect(forward.map((p) => p.results.length)).toEqual(
      Array.from({ length: Math.ceil(total / pageSize) }, (_, i) => Math.min(pageSize, total - i * pageSize)),
    );
    expect(forward[0].previous).toBeNull();
    expect(forward[forward.length - 1].next).toBeNull();
    for (const page of forward.slice(1)) expect(page.previous).not.toBeNull();
    for (const page of forward.slice(0, -1)) expect(page.next).not.toBeNull();

    const backward = await walkBackward(forward[forward.length - 1], token);
    expect(backward.map((p) => ids(p.results))).toEqual(
      forward
        .slice(0, -1)
        .reverse()
        .map((p) => ids(p.results)),
    );
    if (backward.length > 0) {
      // A page reached backwards links forward to the page after it.
      const again = (await follow(backward[0].next!, token)).body;
      expect(ids(again.results)).toEqual(ids(forward[forward.length - 1].results));
    }
    return whole.body.results;
  }

  return { follow, walkForward, walkBackward, expectConsistentPaging };
}

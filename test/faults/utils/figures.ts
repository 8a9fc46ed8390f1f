import { duration, type Outcome, succeeded } from './http.js';

/** FAULTS_SIZE=ci: fewer rounds and shorter load (the whole suite in about 4 minutes); anything else: the full size. */
export const SIZE: 'ci' | 'full' = process.env.FAULTS_SIZE === 'ci' ? 'ci' : 'full';

export function sized<T>(ci: T, full: T): T {
  return SIZE === 'ci' ? ci : full;
}

/** Requests tried, answers by status, failures without an answer, 5xx seen, the slowest failure. */
export function summarize(outcomes: Outcome[]) {
  const byStatus: Record<string, number> = {};
  const fiveXX: Record<string, number> = {};
  const errors: Record<string, number> = {};
  for (const o of outcomes) {
    if (o.status !== undefined) {
      byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
      if (o.status >= 500) fiveXX[o.status] = (fiveXX[o.status] ?? 0) + 1;
    } else errors[o.error ?? 'unknown'] = (errors[o.error ?? 'unknown'] ?? 0) + 1;
  }
  const failures = outcomes.filter((o) => !succeeded(o));
  return {
    tried: outcomes.length,
    succeeded: outcomes.length - failures.length,
    byStatus,
    '5xx': fiveXX,
    noAnswer: errors,
    slowestFailureMs: failures.length ? Math.round(Math.max(...failures.map(duration))) : null,
    slowestMs: outcomes.length ? Math.round(Math.max(...outcomes.map(duration))) : null,
  };
}

/** Prints a test's figures (eslint forbids console; jest does not buffer stdout writes). */
export function report(title: string, figures: Record<string, unknown>): void {
  const lines = Object.entries(figures).map(([key, value]) => `  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  process.stdout.write(`\n[faults:${SIZE}] ${title}\n${lines.join('\n')}\n`);
}

/**
 * The pass criteria of a scenario, each named: the figures are printed first,
 * then the test fails listing every criterion that did not hold (not only the first).
 */
export class Checks {
  private readonly results: { check: string; ok: boolean; detail: unknown }[] = [];

  add(check: string, ok: boolean, detail: unknown = null): void {
    this.results.push({ check, ok, detail });
  }

  get failed(): { check: string; detail: unknown }[] {
    return this.results.filter((r) => !r.ok).map(({ check, detail }) => ({ check, detail }));
  }

  get summary(): string[] {
    return this.results.map((r) => `${r.ok ? 'PASS' : 'FAIL'} ${r.check}`);
  }
}

/** ms, rounded, relative to a moment. */
export const at = (t: number, from: number) => Math.round(t - from);

/** A few failures, for the report: what, when (relative to a moment) and how long it waited. */
export function sample(outcomes: Outcome[], from: number, count = 5) {
  return outcomes.slice(0, count).map((o) => ({
    kind: o.kind,
    startMs: at(o.start, from),
    ...(o.written !== undefined ? { writtenMs: at(o.written, from) } : {}),
    waitedMs: Math.round(duration(o)),
    status: o.status ?? o.error,
    ...(o.status && o.status >= 400 && typeof o.body === 'object' ? { detail: o.body?.detail ?? o.body?.message } : {}),
  }));
}

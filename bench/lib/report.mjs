// The printed table, the markdown table for bench/README.md, and the SVG chart.

const fmt = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits));
const pct = (v) => (v === null || v === undefined ? '' : `±${Math.round(v * 50)}%`);

/** The rows both tables show: one per scenario, API beside baseline. */
function rows(result) {
  return result.scenarios.map((s) => {
    const a = s.api;
    const b = s.baseline;
    return {
      name: s.name,
      api_rps: `${fmt(a.rps)} ${pct(s.api_rps_spread)}`.trim(),
      base_rps: `${fmt(b.rps)} ${pct(s.baseline_rps_spread)}`.trim(),
      ratio: fmt(s.ratio, 2),
      cpu_ratio: fmt(cpuRatio(a, b), 2),
      target: s.target === null || s.target === undefined ? '-' : `≥ ${s.target}`,
      verdict: s.target === null || s.target === undefined ? '' : s.ratio >= s.target ? 'met' : 'MISSED',
      api_lat: `${fmt(a.p50_ms, 1)} / ${fmt(a.p99_ms, 1)}`,
      base_lat: `${fmt(b.p50_ms, 1)} / ${fmt(b.p99_ms, 1)}`,
      cpu: `${fmt(a.cpu_us_per_req)} / ${fmt(b.cpu_us_per_req)}`,
      db: `${fmt(a.db_cpu_us_per_req)} / ${fmt(b.db_cpu_us_per_req)}`,
      rss: `${fmt(a.peak_rss_mb)} / ${fmt(b.peak_rss_mb)}`,
      err: `${a.errors + a.non_2xx} / ${b.errors + b.non_2xx}`,
    };
  });
}

/**
 * Baseline CPU per request over the API's (server and PostgreSQL together):
 * the ratio the two would reach if CPU were the only limit, which holds up
 * better than req/s when something else runs on the machine.
 */
export function cpuRatio(a, b) {
  const api = (a.cpu_us_per_req ?? 0) + (a.db_cpu_us_per_req ?? 0);
  const base = (b.cpu_us_per_req ?? 0) + (b.db_cpu_us_per_req ?? 0);
  return api > 0 && base > 0 ? base / api : null;
}

const HEAD = {
  name: 'Scenario',
  api_rps: 'API req/s',
  base_rps: 'Baseline req/s',
  ratio: 'Ratio',
  cpu_ratio: 'CPU ratio',
  target: 'Target',
  verdict: '',
  api_lat: 'API p50 / p99 ms',
  base_lat: 'Base p50 / p99 ms',
  cpu: 'App CPU µs/req A / B',
  db: 'DB CPU µs/req A / B',
  rss: 'Peak RSS MB A / B',
  err: 'Errors A / B',
};

export function textTable(result) {
  const body = rows(result);
  const keys = Object.keys(HEAD);
  const width = Object.fromEntries(keys.map((k) => [k, Math.max(HEAD[k].length, ...body.map((r) => String(r[k]).length))]));
  const line = (r) => keys.map((k) => String(r[k]).padEnd(width[k])).join('  ').trimEnd();
  return [line(HEAD), keys.map((k) => '-'.repeat(width[k])).join('  '), ...body.map(line)].join('\n');
}

export function markdownTable(result) {
  const keys = Object.keys(HEAD).filter((k) => k !== 'verdict');
  const head = { ...HEAD, target: 'Target' };
  const body = rows(result).map((r) => ({ ...r, target: r.verdict ? `${r.target} ${r.verdict}` : r.target }));
  const line = (r) => `| ${keys.map((k) => String(r[k])).join(' | ')} |`;
  return [line(head), `|${keys.map(() => '---').join('|')}|`, ...body.map(line)].join('\n');
}

/** Labels that fit under a bar, by scenario number. */
const SHORT = {
  1: 'GET a patient',
  2: 'list, first page',
  3: 'list, near the end',
  4: 'POST a patient',
  5: 'search doctors',
  6: 'POST a mapping',
  7: 'login (8 conns)',
  8: 'mix of 1, 2, 4, 7',
};

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Requests per second per scenario, API beside baseline, on one linear scale with every value written on its bar. */
export function svgChart(result) {
  const scenarios = result.scenarios;
  const W = 960;
  const H = 480;
  const left = 70;
  const right = 20;
  const top = 60;
  const bottom = 120;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const max = Math.max(1, ...scenarios.flatMap((s) => [s.api.rps ?? 0, s.baseline.rps ?? 0]));
  const step = 10 ** Math.floor(Math.log10(max));
  const niceMax = Math.ceil(max / step) * step;
  const y = (v) => top + plotH - (v / niceMax) * plotH;
  const group = plotW / Math.max(1, scenarios.length);
  const barW = Math.min(40, group / 3);
  const parts = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">Requests per second: API (NestJS) beside the bare baseline</text>`,
    `<text x="${W / 2}" y="42" text-anchor="middle" fill="#555">${esc(result.machine.cpus)} CPUs, ${esc(result.machine.cpu_model)}, Node ${esc(result.machine.node)}, ${esc(result.machine.postgres)}; ${esc(result.started_at)}</text>`,
  );
  for (let i = 0; i <= 5; i++) {
    const v = (niceMax / 5) * i;
    parts.push(
      `<line x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${fmt(v)}</text>`,
    );
  }
  scenarios.forEach((s, i) => {
    const cx = left + group * i + group / 2;
    const bars = [
      { v: s.api.rps ?? 0, x: cx - barW - 2, color: '#e0234e' },
      { v: s.baseline.rps ?? 0, x: cx + 2, color: '#3c873a' },
    ];
    for (const b of bars) {
      parts.push(
        `<rect x="${b.x}" y="${y(b.v)}" width="${barW}" height="${top + plotH - y(b.v)}" fill="${b.color}"/>`,
        `<text x="${b.x + barW / 2}" y="${y(b.v) - 4}" text-anchor="middle" font-size="10">${fmt(b.v)}</text>`,
      );
    }
    const [num, ...rest] = s.name.split(' ');
    const label = SHORT[num] ?? rest.join(' ');
    const short = label.length > 18 ? `${label.slice(0, 17)}…` : label;
    parts.push(
      `<text x="${cx}" y="${top + plotH + 16}" text-anchor="middle" font-weight="bold">${esc(num)}</text>`,
      `<text x="${cx}" y="${top + plotH + 30}" text-anchor="middle" font-size="10" fill="#333">${esc(short)}</text>`,
      `<text x="${cx}" y="${top + plotH + 46}" text-anchor="middle" font-size="11">ratio ${fmt(s.ratio, 2)}</text>`,
    );
  });
  const ly = H - 30;
  parts.push(
    `<rect x="${left}" y="${ly - 10}" width="12" height="12" fill="#e0234e"/><text x="${left + 18}" y="${ly}">API (NestJS, Fastify, TypeORM)</text>`,
    `<rect x="${left + 240}" y="${ly - 10}" width="12" height="12" fill="#3c873a"/><text x="${left + 258}" y="${ly}">baseline (node:http + pg prepared statements)</text>`,
    `<text x="${W - right}" y="${ly}" text-anchor="end" fill="#555">median of the runs; ratio = API / baseline</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

// Re-renders the chart and the markdown table of a finished run from its
// detail file, without running anything:
//   node bench/tools/render.mjs [bench/results/latest-runs.json]
import { writeFileSync, readFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { markdownTable, svgChart, textTable } from '../lib/report.mjs';

const file = process.argv[2] ?? join(import.meta.dirname, '..', 'results', 'latest-runs.json');
const detail = JSON.parse(readFileSync(file, 'utf8'));
const shown = { machine: detail.machine, started_at: detail.started_at, scenarios: detail.scenarios, login: detail.login };
const base = join(dirname(file), basename(file).replace(/-runs\.json$/, ''));
writeFileSync(`${base}.svg`, svgChart(shown));
writeFileSync(`${base}.md`, `${markdownTable(shown)}\n`);
process.stdout.write(`${textTable(shown)}\n\nwrote ${base}.svg and ${base}.md\n`);

// Summarises a .cpuprofile: self time by layer (npm package, Node internals,
// the app's own files, GC, idle) and the functions with the most self time.
//   node bench/tools/profile-summary.mjs bench/results/profiles/api-1.cpuprofile [top]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));

// Self time per node from the samples and their time deltas (µs).
const self = new Map();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);

function layer(frame) {
  const url = frame.url ?? '';
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native/V8 builtins)';
  if (url.startsWith('node:')) return 'node internals';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  const app = /\/dist\/(.*)$/.exec(url);
  if (app) return `app ${app[1]}`;
  return url.replace(/^file:\/\//, '');
}

const layers = new Map();
const functions = new Map();
for (const [id, us] of self) {
  const frame = byId.get(id).callFrame;
  const l = layer(frame);
  layers.set(l, (layers.get(l) ?? 0) + us);
  const key = `${frame.functionName || '(anonymous)'}  ${l}:${frame.lineNumber + 1}`;
  functions.set(key, (functions.get(key) ?? 0) + us);
}
const busy = total - (layers.get('(idle)') ?? 0);
const pct = (us, of) => `${((us / of) * 100).toFixed(1).padStart(5)}%`;
const print = (line) => process.stdout.write(`${line}\n`);
print(`${file}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (shares below are of busy time)`);
print('\nself time by layer:');
for (const [l, us] of [...layers].filter(([l]) => l !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, 30)) print(`  ${pct(us, busy)}  ${l}`);
print(`\ntop ${top} functions by self time:`);
for (const [f, us] of [...functions].filter(([f]) => !f.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) print(`  ${pct(us, busy)}  ${f}`);

// Preload for a server under `node bench/run.mjs --profile`: samples the main
// thread with the V8 profiler from the start; each 'cut-profile' message on the
// IPC channel writes what was sampled since the previous one to
// $PROFILE_DIR/$PROFILE_NAME-<n>.cpuprofile (open it in Chrome DevTools, or
// summarise it with tools/profile-summary.mjs) and starts afresh. The harness
// sends one before and one after each scenario. (Not a signal: Nest's
// enableShutdownHooks() shuts the app down on SIGUSR2, and Node keeps SIGUSR1.)
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

const dir = process.env.PROFILE_DIR ?? '.';
const name = process.env.PROFILE_NAME ?? 'server';
mkdirSync(dir, { recursive: true });
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 250 });
await session.post('Profiler.start');
let n = 0;
let busy = false;
process.channel?.unref();
process.on('message', async (message) => {
  if (message !== 'cut-profile' || busy) return;
  busy = true;
  const { profile } = await session.post('Profiler.stop');
  const file = join(dir, `${name}-${n++}.cpuprofile`);
  writeFileSync(`${file}.tmp`, JSON.stringify(profile));
  // Renamed when complete, so the harness never reads half a file.
  const { renameSync } = await import('node:fs');
  renameSync(`${file}.tmp`, file);
  await session.post('Profiler.start');
  busy = false;
});

// Starting and stopping the two servers under test.
import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { sleep } from './util.mjs';

const tail = (file) => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-10).join('\n');
  } catch {
    return '(no log)';
  }
};

function get(port, path) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/**
 * Spawns `node <args>` (or `command <args>`) with its output in logFile and waits until readyPath
 * answers 200. The returned object's pid is the node process itself (no npm
 * or shell in between), so /proc figures are the server's own.
 */
export async function startServer({ name, command = process.execPath, args, env, port, logFile, readyPath, cwd, ipc = false }) {
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', fd, fd, ...(ipc ? ['ipc'] : [])] });
  if (ipc) child.channel?.unref();
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${name} exited during start (${JSON.stringify(exited)}):\n${tail(logFile)}`);
    if ((await get(port, readyPath)) === 200) break;
    await sleep(200);
  }
  if (Date.now() >= deadline) {
    child.kill('SIGKILL');
    throw new Error(`${name} did not answer ${readyPath} within 90 s:\n${tail(logFile)}`);
  }
  return {
    name,
    port,
    pid: child.pid,
    logFile,
    send(message) {
      child.send(message);
    },
    get alive() {
      return exited === null;
    },
    async stop() {
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

// CPU time and memory of processes, read from /proc. CPU per request holds up
// on a noisy machine where requests per second do not.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // 100 is the value on every Linux this runs on.
}

function statFields(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime of a process (all its threads), in microseconds; null if it is gone or not ours to read. */
export function cpuMicros(pid) {
  try {
    const f = statFields(pid);
    // Fields 14 and 15 of proc(5), counted from field 3 (state) at index 0.
    return ((Number(f[11]) + Number(f[12])) * 1e6) / ticksPerSecond;
  } catch {
    return null;
  }
}

export function parentPid(pid) {
  try {
    return Number(statFields(pid)[1]);
  } catch {
    return null;
  }
}

/** CPU of a process's direct children (a standby's startup process, WAL receiver and backends), by pid. */
export function childrenCpu(pid) {
  const cpu = new Map();
  const read = (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  let tasks;
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return cpu;
  }
  for (const task of tasks) {
    for (const child of read(`/proc/${pid}/task/${task}/children`).trim().split(/\s+/).filter(Boolean)) {
      const us = cpuMicros(Number(child));
      if (us !== null) cpu.set(Number(child), us);
    }
  }
  return cpu;
}

function statusKb(pid, key) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${key}:`));
    return line ? Number(line.split(/\s+/)[1]) : null;
  } catch {
    return null;
  }
}

export const rssMb = (pid) => (statusKb(pid, 'VmRSS') ?? 0) / 1024;
export const peakRssMb = (pid) => (statusKb(pid, 'VmHWM') ?? 0) / 1024;

/** Resets VmHWM (the peak resident set) to the current RSS, so the peak of one run can be read; false if refused. */
export function resetPeakRss(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * The PostgreSQL processes serving one database: the backends pg_stat_activity
 * lists for it (the servers' pool connections, autovacuum workers), kept only
 * when they are children of the local postmaster (so a remote server, or a pid
 * reused by something else, counts nothing). Returns pid -> CPU microseconds.
 */
export async function pgBackendCpu(admin, database, postmasterPid) {
  const { rows } = await admin.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
  const cpu = new Map();
  for (const { pid } of rows) {
    if (postmasterPid && parentPid(pid) !== postmasterPid) continue;
    const us = cpuMicros(pid);
    if (us !== null) cpu.set(pid, us);
  }
  return cpu;
}

/** CPU the backends spent between two snapshots; a backend born in between counts whole. */
export function pgCpuBetween(before, after) {
  let total = 0;
  for (const [pid, us] of after) total += us - (before.get(pid) ?? 0);
  return total;
}

/** The postmaster's pid, from postmaster.pid in the data directory, else the parent of our own backend. */
export async function findPostmaster(admin) {
  try {
    const { rows } = await admin.query('SHOW data_directory');
    const pid = Number(readFileSync(`${rows[0].data_directory}/postmaster.pid`, 'utf8').split('\n')[0]);
    if (pid > 0) return pid;
  } catch {
    // Not a superuser, or the server is not on this machine.
  }
  const { rows } = await admin.query('SELECT pg_backend_pid() AS pid');
  return parentPid(rows[0].pid);
}

/** CPU time every core spent busy (user, nice, system, irq, softirq, steal), in microseconds. */
export function machineBusyMicros() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return ((user + nice + system + irq + softirq + (steal ?? 0)) * 1e6) / ticksPerSecond;
}

/** This process's CPU plus that of its children it has reaped (wrk, once a run ends), in microseconds. */
export function selfAndChildrenMicros() {
  const f = statFields('self');
  return ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1e6) / ticksPerSecond;
}

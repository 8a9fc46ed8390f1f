import cluster, { type Worker } from 'node:cluster';

/** Workers that die within this long of starting, before they listen, mean the start itself fails: no restart loop. */
const FAILED_START = 'exited before it listened';

/**
 * The first process of `CLUSTER_WORKERS` > 1 (node:cluster): it forks the
 * workers, each a whole instance of the API on the shared port (connections
 * are handed out in turn), restarts one that dies while serving, and on
 * SIGTERM or SIGINT passes SIGTERM to every worker, waits for all of them to
 * drain and close (each as a single instance would), and exits 0 if they all
 * did, else 1. A worker that exits with an error before it ever listened (a
 * bad configuration, PostgreSQL refusing the credentials) stops them all,
 * exit 1: restarting it would only repeat the failure.
 */
export function superviseWorkers(count: number, log: (line: string) => void): void {
  let stopping = false;
  let failed = false;
  const listening = new WeakSet<Worker>();

  const stopAll = (signal: NodeJS.Signals) => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  const exitWhenAllGone = () => {
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed ? 1 : 0);
  };

  cluster.on('listening', (worker) => {
    listening.add(worker);
    log(`worker ${worker.process.pid} listening`);
  });
  cluster.on('exit', (worker, code, signal) => {
    const how = signal ?? `code ${code}`;
    if (stopping) {
      // A worker still starting when the stop came had nothing to drain: the signal's default ending is clean.
      const endedBeforeServing = signal === 'SIGTERM' && !listening.has(worker);
      if (code !== 0 && !endedBeforeServing) failed = true;
      exitWhenAllGone();
      return;
    }
    // Exited with an error before it ever listened: its start failed (a signal, e.g. the OOM killer, is not that).
    if (!listening.has(worker) && !signal) {
      log(`worker ${worker.process.pid} ${FAILED_START} (${how}); stopping the others`);
      stopping = true;
      failed = true;
      stopAll('SIGTERM');
      exitWhenAllGone();
      return;
    }
    log(`worker ${worker.process.pid} exited (${how})${listening.has(worker) ? ' while serving' : ' while starting'}; starting another`);
    cluster.fork();
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping ${Object.keys(cluster.workers ?? {}).length} workers (each drains, then closes)`);
    stopAll('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  log(`starting ${count} workers (CLUSTER_WORKERS)`);
  for (let i = 0; i < count; i++) cluster.fork();
}

export const isClusterPrimary = (): boolean => cluster.isPrimary;

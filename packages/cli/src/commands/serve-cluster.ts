import cluster, { type Worker as ClusterWorker } from 'node:cluster';
import type { Logger } from '@plinth/core';
import type { Listening } from './serve.js';

/** Set in the environment of the processes `plinth serve --workers N` forks. */
export const CLUSTER_ENV = 'PLINTH_SERVE_CLUSTER';

/** Whether this process is one of the N server processes of `plinth serve --workers N`. */
export function isClusterWorker(): boolean {
  return cluster.isWorker && process.env[CLUSTER_ENV] === '1';
}

/** A cluster worker tells the primary it listens (the primary prints one line for all). */
export function reportListening(info: Listening): void {
  process.send?.({ plinth: 'listening', info, pid: process.pid });
}

export interface ClusterHandle {
  /** Resolves with the first worker's address once every worker listens. */
  listening: Promise<{ info: Listening; pids: number[] }>;
  /** Resolves with the exit code once the workers have stopped after a signal. */
  stopped: Promise<number>;
}

/**
 * The primary of `plinth serve --workers N`: forks N processes running the same
 * command (they share the listening socket through node:cluster), replaces a
 * process that dies unexpectedly (at most once per second), and on SIGTERM or
 * SIGINT passes the signal on and waits until every process has stopped.
 */
export function runClusterPrimary(count: number, logger: Logger): ClusterHandle {
  let stopping = false;
  const pids = new Map<number, number>();
  let resolveListening!: (value: { info: Listening; pids: number[] }) => void;
  let rejectListening!: (error: Error) => void;
  const listening = new Promise<{ info: Listening; pids: number[] }>((resolve, reject) => {
    resolveListening = resolve;
    rejectListening = reject;
  });
  let first: Listening | undefined;
  let everyoneListened = false;
  let lastRespawn = 0;

  const fork = (): ClusterWorker => {
    const worker = cluster.fork({ [CLUSTER_ENV]: '1' });
    worker.on('message', (message: { plinth?: string; info?: Listening; pid?: number }) => {
      if (message?.plinth !== 'listening' || !message.info) return;
      pids.set(worker.id, message.pid ?? worker.process.pid ?? 0);
      first ??= message.info;
      if (!everyoneListened && pids.size === count) {
        everyoneListened = true;
        resolveListening({ info: first, pids: [...pids.values()] });
      }
    });
    return worker;
  };

  const stopped = new Promise<number>((resolve) => {
    let failed = false;
    cluster.on('exit', (worker, code, signal) => {
      pids.delete(worker.id);
      if (code !== 0 && !(stopping && (signal === 'SIGTERM' || signal === 'SIGINT'))) failed ||= stopping;
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve(failed ? 1 : 0);
        return;
      }
      if (!everyoneListened) {
        stopping = true;
        rejectListening(new Error(`a server process exited (code ${code ?? signal}) before listening`));
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve(1);
        return;
      }
      logger.warn({ pid: worker.process.pid, code, signal }, 'a server process died; starting another');
      const wait = Math.max(0, lastRespawn + 1000 - Date.now());
      lastRespawn = Date.now() + wait;
      setTimeout(() => {
        if (!stopping) fork();
      }, wait);
    });
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, processes: Object.keys(cluster.workers ?? {}).length }, 'stopping the server processes');
      const workers = Object.values(cluster.workers ?? {});
      if (workers.length === 0) resolve(0);
      for (const w of workers) w?.process.kill('SIGTERM');
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });

  for (let i = 0; i < count; i++) fork();
  return { listening, stopped };
}

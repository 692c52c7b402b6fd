/**
 * What the main thread hands a job's worker thread, and the one message the worker sends back
 * besides Bree's 'done'. A worker does its job on its own connection: nothing else crosses.
 */
import type { RedisTarget } from '../store/redis/connect.js';
import type { JobSettings, RunResult } from './jobs.js';

/** How a worker reaches Redis: its own connection (one node or a Cluster), the main thread's store settings. */
export interface WorkerRedis {
  target: RedisTarget;
  prefix: string;
  cap: number;
  /** REDIS_PARTITIONS */
  partitions: number;
  /** REDIS_WAIT_REPLICAS */
  waitReplicas: number;
}

/** workerData of a job's worker (Bree adds `job`). */
export interface JobWorkerData {
  job?: { name: string };
  settings: JobSettings;
  redis: WorkerRedis;
  /** the instance (scheduler) that started it */
  instance: string;
  /** the occurrence this run is for; null when started by hand */
  slot: number | null;
  /** the run's lock token (the main thread releases the lock with it if the worker dies) */
  token: string;
  /** main clock minus Date.now() when the worker started: the worker's clock follows the main one */
  clockOffsetMs: number;
  /** the worker thread's nice value (Linux), so the main thread keeps the CPU it needs; 0: unchanged */
  niceness: number;
  /** a TypeScript job file, imported by the ts-worker.mjs shim */
  tsJobUrl?: string;
}

/** The run's outcome, posted by the worker before 'done'. */
export interface RunReport extends RunResult {
  kind: 'result';
}

export const isRunReport = (m: unknown): m is RunReport => typeof m === 'object' && m !== null && (m as { kind?: unknown }).kind === 'result';

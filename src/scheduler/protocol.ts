/**
 * What the main thread and a job's worker thread say to each other, besides Bree's own
 * 'done' / 'cancel' / 'cancelled'. A worker relays {@link JobOps} calls to the main thread as
 * request/response pairs (the memory backend's state, and the dashboard, live there).
 */
import type { MessagePort } from 'node:worker_threads';
import { JOB_OPS, type JobOps, type JobSettings, type RunResult } from './jobs.js';
import type { DashboardChannels } from './local-ops.js';

import type { RedisTarget } from '../store/redis/connect.js';

/** How a worker reaches the backend. */
export type WorkerBackend =
  /** its own connection, same key prefix and cap as the main thread's store */
  | { kind: 'redis'; target: RedisTarget; prefix: string; cap: number; partitions: number; waitReplicas: number }
  /** through the main thread */
  | { kind: 'memory' };

/** What one worker is started for (chosen by the scheduler per start). */
export interface RunRequest {
  /** 'loop': keep running the schedule for a while (frequent jobs); 'once': one run, then exit */
  mode: 'once' | 'loop';
  /** the occurrence of a 'once' run started by the schedule; null when started by hand */
  slot: number | null;
  /** a manual run waiting for its result; null for scheduled runs */
  runId: number | null;
  /** the lock token of every run this worker makes (the main thread releases it if the worker dies) */
  token: string;
  /** 'loop' only */
  lifetimeMs: number;
}

/** workerData of a job's worker (Bree adds `job`). */
export interface JobWorkerData {
  job?: { name: string };
  settings: JobSettings;
  backend: WorkerBackend;
  /** the pub/sub channels whose subscribers are the dashboard's listeners (Redis: NUMSUB); null: none */
  dashboardChannels: DashboardChannels | null;
  run: RunRequest;
  /** main clock minus Date.now() when the worker started: the worker's clock follows the main one */
  clockOffsetMs: number;
  /** the worker thread's nice value (Linux), so the main thread keeps the CPU it needs; 0: unchanged */
  niceness: number;
  /** a TypeScript job file, imported by the ts-worker.mjs shim */
  tsJobUrl?: string;
}

export interface RpcCall {
  kind: 'rpc';
  id: number;
  op: keyof JobOps;
  args: unknown[];
}

export type RpcReply = { kind: 'rpc-reply'; id: number; ok: true; value: unknown } | { kind: 'rpc-reply'; id: number; ok: false; error: string };

/** A manual run for a loop worker that is running anyway. */
export interface RunNow {
  kind: 'run-now';
  runId: number;
}

/** One run's outcome, posted by the worker after each run. */
export interface RunReport extends RunResult {
  kind: 'result';
  runId: number | null;
  slot: number | null;
}

export type ToWorker = 'cancel' | RunNow | RpcReply;
export type FromWorker = 'done' | 'cancelled' | RpcCall | RunReport;

const isObject = (m: unknown): m is Record<string, unknown> => typeof m === 'object' && m !== null;
export const isRpcCall = (m: unknown): m is RpcCall => isObject(m) && m.kind === 'rpc';
export const isRunReport = (m: unknown): m is RunReport => isObject(m) && m.kind === 'result';
export const isRunNow = (m: unknown): m is RunNow => isObject(m) && m.kind === 'run-now';
const isRpcReply = (m: unknown): m is RpcReply => isObject(m) && m.kind === 'rpc-reply';

/** Worker side: JobOps whose every call is answered by the main thread. */
export function remoteJobOps(port: MessagePort): JobOps {
  let seq = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  port.on('message', (m: unknown) => {
    if (!isRpcReply(m)) return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(m.error));
  });
  const call = (op: keyof JobOps, args: unknown[]) =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { resolve, reject });
      port.postMessage({ kind: 'rpc', id, op, args } satisfies RpcCall);
    });
  return Object.fromEntries(JOB_OPS.map((op) => [op, (...args: unknown[]) => call(op, args)])) as unknown as JobOps;
}

/** Main side: answers one relayed call with `ops`. Unknown ops are refused, errors sent back as text. */
export async function answerRpc(ops: JobOps, call: RpcCall, reply: (r: RpcReply) => void): Promise<void> {
  try {
    if (!(JOB_OPS as readonly string[]).includes(call.op)) throw new Error(`unknown job op ${JSON.stringify(call.op)}`);
    const fn = ops[call.op] as (...a: unknown[]) => Promise<unknown>;
    reply({ kind: 'rpc-reply', id: call.id, ok: true, value: await fn(...call.args) });
  } catch (err) {
    reply({ kind: 'rpc-reply', id: call.id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
}

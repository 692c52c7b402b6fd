/**
 * Runners: where one run of a job happens. {@link processRunner} runs it on this thread over
 * the main store and bus; worker-runner.ts starts a Bree worker thread for it. Both keep one
 * run per job at a time on this instance (Bree's rule), tell when a job is idle again, and
 * stop within a bound.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/store.js';
import { runOnce, type JobDefinition, type JobName, type JobOps, type RunResult } from './jobs.js';

export interface RunRequest {
  /** the occurrence; null for a manual or an extra run */
  slot: number | null;
  trigger: 'schedule' | 'manual';
}

export interface Runner {
  /** Starts a run of `def`, or returns null when one is going on here. Resolves with its result, never rejects. */
  start(def: JobDefinition, req: RunRequest): Promise<RunResult> | null;
  /** Resolves once no run of `name` is going on here. */
  idle(name: JobName): Promise<void>;
  /** Jobs with a run going on here. */
  running(): JobName[];
  /**
   * Lets runs in hand finish for at most `timeoutMs`; then records what is left as
   * `failed: interrupted by shutdown` and releases its lock.
   */
  stop(timeoutMs: number): Promise<void>;
}

export const INTERRUPTED = 'failed: interrupted by shutdown';

/** Runs jobs on this thread. A run left at stop is abandoned: its result is the interruption. */
export function processRunner({ ops, store, clock, instance }: { ops: JobOps; store: Store; clock: () => number; instance: string }): Runner {
  const runs = new Map<JobName, { done: Promise<RunResult>; token: string; startedAt: number; interrupt: (r: RunResult) => void }>();
  return {
    start(def, req) {
      if (runs.has(def.name)) return null;
      const token = randomUUID();
      let interrupt!: (r: RunResult) => void;
      const interrupted = new Promise<RunResult>((resolve) => (interrupt = resolve));
      const done = Promise.race([runOnce(def, ops, { slot: req.slot, token, clock, instance }), interrupted]).finally(() => runs.delete(def.name));
      runs.set(def.name, { done, token, startedAt: clock(), interrupt });
      return done;
    },
    async idle(name) {
      await runs.get(name)?.done;
    },
    running: () => [...runs.keys()],
    async stop(timeoutMs) {
      const left = await settleWithin([...runs.values()].map((r) => r.done), timeoutMs);
      if (!left) return;
      await Promise.all(
        [...runs.entries()].map(async ([name, r]) => {
          await store.endJobRun(name, { token: r.token, startedAt: r.startedAt, status: INTERRUPTED }).catch(() => {});
          r.interrupt({ outcome: 'ran', status: INTERRUPTED, summary: null, error: null });
        }),
      );
    },
  };
}

/** Waits for `all` at most `ms`; true when some are still pending then. */
export async function settleWithin(all: Promise<unknown>[], ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    Promise.allSettled(all).then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms))),
  ]);
  clearTimeout(timer);
  return timedOut;
}

/**
 * The worker runner: each run of a worker job is one Bree worker thread (jobs/NAME.ts) that
 * does the job on its own Redis connection, posts its result and ends. This module starts the
 * workers (TypeScript files through ts-worker.mjs), turns a worker that dies into a failed run
 * (and releases its lock with the run's token), and stops within a bound: Bree's own stop()
 * would wait forever.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type Bree from 'bree';
import type { Logger } from 'pino';
import { JOB_NAME } from '../store/schedule-store.js';
import type { Store } from '../store/store.js';
import { failedStatus, type JobDefinition, type JobName, type JobSettings, type RunResult } from './jobs.js';
import { isRunReport, type JobWorkerData, type WorkerRedis } from './protocol.js';
import { INTERRUPTED, settleWithin, type RunRequest, type Runner } from './runner.js';

const TS_WORKER = fileURLToPath(new URL('./ts-worker.mjs', import.meta.url));
/**
 * Nice value of job worker threads (Linux): they yield the CPU to the main thread, which
 * serves requests. Half-way down the scale: a job still gets what the main thread leaves.
 */
const JOB_NICENESS = 10;

/**
 * The worker jobs' files in `dir` by name: .ts in the source tree, .js/.mjs when compiled.
 * Every worker job has a file and every file a worker job: a stray file would never run.
 */
export function workerJobFiles(dir: string, jobs: readonly JobDefinition[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const f of readdirSync(dir)) {
    const m = /^(.+)\.(ts|js|mjs)$/.exec(f);
    if (!m || f.endsWith('.d.ts')) continue;
    const name = m[1]!;
    if (!JOB_NAME.test(name)) throw new Error(`jobs/${f}: job file names must match ${JOB_NAME}`);
    // A compiled tree may hold both; the .js one wins there, the .ts one in the sources.
    if (!files.has(name) || m[2] !== 'ts') files.set(name, `${dir.replace(/\/$/, '')}/${f}`);
  }
  const missing = jobs.filter((d) => !files.has(d.name)).map((d) => `no file for ${d.name}`);
  const unknown = [...files.keys()].filter((n) => !jobs.some((d) => d.name === n)).map((n) => `${n} is not a worker job`);
  if (missing.length || unknown.length) throw new Error(`jobs/ and src/scheduler/jobs.ts disagree: ${[...missing, ...unknown].join('; ')}`);
  return files;
}

interface Run {
  token: string;
  startedAt: number;
  settle(r: RunResult): void;
  settled: boolean;
  /** resolves once the run's worker is gone */
  done?: Promise<RunResult>;
}

export function workerRunner({
  jobs,
  files,
  dir,
  settings,
  redis,
  store,
  clock,
  instance,
  logger,
}: {
  /** the jobs that run in workers */
  jobs: readonly JobDefinition[];
  /** their files by name */
  files: ReadonlyMap<string, string>;
  dir: string;
  settings: JobSettings;
  redis: WorkerRedis;
  /** the main thread's store: releases the lock of a worker that died */
  store: Store;
  clock: () => number;
  instance: string;
  logger: Logger;
}): Runner {
  const runs = new Map<string, Run>();
  /** lock releases of workers that died, awaited by stop() */
  const releasing = new Set<Promise<unknown>>();
  /** the start a worker is being created for, picked up by createWorker */
  let starting: { slot: number | null; token: string } | null = null;
  let stopping = false;

  // Bree is loaded with the first worker run (about 12 MB of RSS): the memory backend, and an
  // instance whose schedule never starts a worker, never load it.
  let loaded: Promise<Bree> | null = null;
  const load = () =>
    (loaded ??= import('bree').then(async ({ default: Bree }) => {
      const bree = new Bree({
        root: dir,
        logger: {
          info: (msg: unknown) => logger.debug(String(msg)),
          warn: (msg: unknown) => logger.warn(msg instanceof Error ? msg.message : String(msg)),
          error: (msg: unknown) => logger.error(msg instanceof Error ? msg.message : String(msg)),
        },
        acceptedExtensions: ['.ts', '.js', '.mjs'],
        defaultExtension: 'ts',
        // The schedule fires occurrences (schedule.ts): to Bree every job is on demand.
        jobs: jobs.map((d) => ({
          name: d.name,
          path: files.get(d.name)!,
          timeout: false,
          closeWorkerAfterMs: d.maxRunMs,
          worker: { workerData: { settings, redis, instance } },
        })),
        workerMessageHandler: ({ name, message }) => {
          if (isRunReport(message)) {
            const { kind: _, ...result } = message;
            runs.get(name)?.settle(result);
          }
        },
        errorHandler: (err, meta) => died(meta.name, err),
      });
      bree.createWorker = (filename: string, options: Partial<WorkerOptions>) => {
        const workerData: JobWorkerData = { ...(options.workerData as JobWorkerData), ...starting!, clockOffsetMs: clock() - Date.now(), niceness: JOB_NICENESS };
        if (filename.endsWith('.ts')) return new Worker(TS_WORKER, { ...options, workerData: { ...workerData, tsJobUrl: pathToFileURL(filename).href } });
        return new Worker(filename, { ...options, workerData });
      };
      // A worker gone without a result (it exited early, or died before its error was reported).
      bree.on('worker deleted', (name: string) => died(name, new Error('the worker exited without a result')));
      // Validates the jobs (paths, options). (init() is public in Bree 9 but missing from its typings)
      await (bree as unknown as { init(): Promise<void> }).init();
      return bree;
    }));

  /** A worker died (threw, timed out, crashed): the run failed; free its lock with our token. */
  function died(name: string, err: unknown) {
    const r = runs.get(name);
    if (!r || r.settled) return;
    const status = stopping ? INTERRUPTED : failedStatus(err);
    if (!stopping) logger.error({ job: name, err }, `job ${name} worker ${status}`);
    // Our own token: this releases the lock only if that worker still held it.
    const release = store.endJobRun(name, { token: r.token, startedAt: r.startedAt, status }).catch((e) => logger.error({ job: name, err: e }, 'could not record the failed run'));
    releasing.add(release);
    void release.finally(() => releasing.delete(release));
    r.settle({ outcome: 'ran', status, summary: null, error: stopping ? null : err instanceof Error ? (err.stack ?? err.message) : String(err), durationMs: clock() - r.startedAt });
  }

  /** Starts the run's worker; resolves with its result once the worker is gone. */
  async function launch(def: JobDefinition, req: RunRequest, run: Run, result: Promise<RunResult>): Promise<RunResult> {
    let bree: Bree;
    try {
      bree = await load();
    } catch (err) {
      logger.error({ err }, 'Bree rejected the jobs');
      return { outcome: 'ran', status: failedStatus(err), summary: null, error: String(err) };
    }
    if (stopping) return { outcome: 'ran', status: INTERRUPTED, summary: null, error: null };
    // The run is over when its worker is gone (or never came): only then may the next start.
    let off = (_: string) => {};
    const gone = new Promise<void>((resolve) => (off = (n: string) => void (n === def.name && resolve())));
    bree.on('worker deleted', off);
    try {
      // Once Bree is initialised, run() creates the worker synchronously.
      starting = { slot: req.slot, token: run.token };
      await bree.run(def.name);
    } catch (err) {
      logger.error({ job: def.name, err }, `could not start job ${def.name}`);
      run.settle({ outcome: 'ran', status: failedStatus(err), summary: null, error: String(err) });
    } finally {
      starting = null;
    }
    const r = await result;
    if (bree.workers.has(def.name)) await gone;
    bree.off('worker deleted', off);
    return r;
  }

  return {
    start(def, req) {
      if (runs.has(def.name)) return null;
      let settle!: (r: RunResult) => void;
      const result = new Promise<RunResult>((resolve) => (settle = resolve));
      const run: Run = { token: randomUUID(), startedAt: clock(), settled: false, settle: (r) => ((run.settled = true), settle(r)) };
      runs.set(def.name, run);
      run.done = launch(def, req, run, result).finally(() => runs.delete(def.name));
      return run.done;
    },
    async idle(name) {
      await runs.get(name)?.done;
    },
    running: () => [...runs.keys()] as JobName[],
    async stop(timeoutMs) {
      stopping = true;
      const bree = await loaded?.catch(() => null);
      if (!bree) return;
      if (await settleWithin([bree.stop()], timeoutMs)) {
        const left = [...bree.workers.entries()];
        logger.warn({ jobs: left.map(([n]) => n), timeoutMs }, 'jobs still running at shutdown: terminating their workers');
        // Bree then deletes them: died() records each run and frees its lock.
        await Promise.all(left.map(([, w]) => w.terminate().catch(() => 0)));
        await settleWithin([...runs.values()].flatMap((r) => (r.done ? [r.done] : [])), 1000);
      }
      await Promise.all(releasing);
    },
  };
}

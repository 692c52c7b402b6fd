/**
 * The scheduler: Bree runs each job file of jobs/ in a worker thread; this module decides when
 * (cron in a zone, from cron.ts, or a fixed period), starts the workers, answers their relayed
 * operations, and serves the `jobs` query and the `runJob` mutation.
 *
 * Created by main.ts (and tests); it is the only thing that starts job workers and schedule
 * timers. Why we fire occurrences ourselves instead of giving Bree the cron: Bree's timer
 * (@breejs/later) applies a zone by the offset in force *now*, so the first run after a DST
 * change of a zone other than the server's is an hour off, and its parser maps day-of-week 7
 * to Saturday. Our own timer fires exactly the occurrence `jobs` shows as nextRunAt, and the
 * run carries that occurrence (its slot) to the cross-instance lock.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import Bree from 'bree';
import type { Logger } from 'pino';
import { DomainError } from '../notifications/errors.js';
import type { DeliveryStore } from '../store/delivery-store.js';
import type { Store } from '../store/store.js';
import type { Metrics } from '../metrics/metrics.js';
import { JOB_NAME } from '../store/schedule-store.js';
import { FailureLog } from './failure-log.js';
import { checkTimezone, describeSchedule, serverTimezone } from './cron.js';
import { DEFAULT_WORK_END_CRON, failedStatus, jobDefinitions, nextRunOf, type JobDefinition, type JobName, type JobOps, type JobSettings, type RunResult } from './jobs.js';
import { localJobOps, type DashboardChannels, type DashboardHooks } from './local-ops.js';
import { answerRpc, isRpcCall, isRunReport, type JobWorkerData, type RunNow, type RunReport, type RunRequest, type WorkerBackend } from './protocol.js';

/** A job as the `jobs` query shows it. */
export interface JobInfo {
  name: string;
  /** cron expression or "every 5s" */
  schedule: string;
  /** cron jobs: the IANA zone; null for fixed periods */
  timezone: string | null;
  lastRunAt: number | null;
  lastStatus: string | null;
  nextRunAt: number | null;
}

/** What the schema needs (context.jobs). */
export interface JobsApi {
  list(): Promise<JobInfo[]>;
  /**
   * Runs `name` now and resolves once it finished: on this instance, respecting the cluster lock
   * (a run going on elsewhere makes this one a no-op) and the job's own dedup.
   * @throws DomainError NOT_FOUND for an unknown name.
   */
  run(name: string): Promise<JobInfo>;
}

/** One run's outcome as the scheduler saw it (logs, tests). */
export interface RunEvent extends RunResult {
  job: JobName;
  trigger: 'schedule' | 'manual';
  slot: number | null;
}

export interface Scheduler extends JobsApi {
  readonly jobs: readonly JobDefinition[];
  readonly timezone: string;
  /** Arms the schedules (no-op when disabled). */
  start(): Promise<void>;
  /**
   * Stops firing, asks running workers to cancel (they finish the run in hand), waits at most
   * `timeoutMs`, then terminates what is left. Bree's own stop() would wait forever.
   */
  stop(timeoutMs?: number): Promise<void>;
  /** Called after every run (manual or scheduled, skipped ones included). */
  onRun(listener: (e: RunEvent) => void): () => void;
  /** Jobs with a worker on this instance right now. */
  running(): JobName[];
}

/** The timer functions the schedule uses; tests pass fake ones and fire them by hand. */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface SchedulerOptions {
  /** the main thread's store: job status, and the memory backend's state */
  store: Store;
  /** the main thread's outbox (the memory backend's; workers on Redis open their own) */
  deliveries: DeliveryStore;
  /** how job workers reach the same backend */
  backend: WorkerBackend;
  logger: Logger;
  /** @default '10 17 * * *' */
  workEndCron?: string;
  /** IANA zone of the cron jobs; null/absent: the server's */
  timezone?: string | null;
  /** false: this instance fires no schedule; `runJob` still runs jobs here. @default true */
  enabled?: boolean;
  /** @default Date.now */
  clock?: () => number;
  /** @default setTimeout/clearTimeout (unref'd) */
  timers?: Timers;
  /**
   * The dashboard push: who listens (main thread: the memory backend's count) and how to
   * publish; on Redis the worker counts the subscribers of `channels` itself (NUMSUB).
   * Default: nobody listens.
   */
  dashboard?: Partial<DashboardHooks> & { channels?: DashboardChannels };
  /** How long one loop worker (deliver-scheduled, dashboard-push) lives. @default 10 min */
  loopLifetimeMs?: number;
  /** The jobs whose schedule this instance fires (tests single one out); `runJob` runs any. @default all */
  only?: readonly JobName[];
  /** the jobs folder; @default the repository's jobs/ */
  jobsDir?: string;
  /** runs, failures and durations per job are counted here when given */
  metrics?: Pick<Metrics, 'jobRuns' | 'jobDuration'> | null;
}

const JOBS_DIR = fileURLToPath(new URL('../../jobs/', import.meta.url));
const TS_WORKER = fileURLToPath(new URL('./ts-worker.mjs', import.meta.url));
/** setTimeout's ceiling; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A cron timer firing later than this after its occurrence skips it; at start, occurrences this recent are caught up. */
const MAX_LATE_MS = 5 * 60_000;
/** A loop worker that died is restarted after this pause (its schedule resumes). */
const LOOP_RESTART_MS = 1000;
/**
 * Nice value of job worker threads (Linux): they yield the CPU to the main thread, which
 * serves requests. Half-way down the scale: a job still gets what the main thread leaves.
 */
const JOB_NICENESS = 10;

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Job files of a folder by name: .ts in the source tree, .js/.mjs when compiled. */
function jobFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const f of readdirSync(dir)) {
    const m = /^(.+)\.(ts|js|mjs)$/.exec(f);
    if (!m || f.endsWith('.d.ts')) continue;
    const name = m[1]!;
    if (!JOB_NAME.test(name)) throw new Error(`jobs/${f}: job file names must match ${JOB_NAME}`);
    // A compiled tree may hold both; the .js one wins there, the .ts one in the sources.
    if (!files.has(name) || m[2] !== 'ts') files.set(name, `${dir.replace(/\/$/, '')}/${f}`);
  }
  return files;
}

interface Running {
  request: RunRequest;
  trigger: 'schedule' | 'manual';
  startedAt: number;
  /** manual runs this worker owes a result */
  waiting: Set<number>;
  failed: boolean;
}

export function createScheduler(opts: SchedulerOptions): Scheduler {
  const { store, backend, logger: parentLogger, enabled = true, clock = Date.now, timers = realTimers, loopLifetimeMs = 10 * 60_000 } = opts;
  const logger = parentLogger.child({ module: 'scheduler' });
  const timezone = opts.timezone ? checkTimezone(opts.timezone) : serverTimezone();
  const settings: JobSettings = { workEndCron: opts.workEndCron ?? DEFAULT_WORK_END_CRON, timezone };
  const defs = jobDefinitions(settings);
  const byName = new Map(defs.map((d) => [d.name as string, d]));

  // Every job file has a definition and every definition a file: a stray file would never run.
  const dir = opts.jobsDir ?? JOBS_DIR;
  const files = jobFiles(dir);
  const missing = defs.filter((d) => !files.has(d.name)).map((d) => d.name);
  const unknown = [...files.keys()].filter((n) => !byName.has(n));
  if (missing.length || unknown.length) {
    throw new Error(`jobs/ and src/scheduler/jobs.ts disagree: ${[...missing.map((n) => `no file for ${n}`), ...unknown.map((n) => `no definition for ${n}`)].join('; ')}`);
  }

  const dashboard: DashboardHooks = {
    listeners: opts.dashboard?.listeners ?? (async () => ({ updated: 0, topic: 0 })),
    publish: opts.dashboard?.publish ?? (async () => {}),
  };
  /** what workers relay to us */
  const localOps: JobOps = localJobOps({ store, deliveries: opts.deliveries, clock, dashboard });
  const failures = new FailureLog(clock);

  const listeners = new Set<(e: RunEvent) => void>();
  const running = new Map<string, Running>();
  /** the request for the next worker start of a job, picked up by createWorker */
  const nextStart = new Map<string, Omit<RunRequest, 'token'> & { trigger: 'schedule' | 'manual' }>();
  const waiters = new Map<number, (r: RunResult) => void>();
  const armed = new Map<string, unknown>();
  let runSeq = 0;
  let started = false;
  let stopping = false;

  const bree = new Bree({
    root: dir,
    logger: {
      info: (msg: unknown) => logger.debug(String(msg)),
      warn: (msg: unknown) => logger.warn(msg instanceof Error ? msg.message : String(msg)),
      error: (msg: unknown) => logger.error(msg instanceof Error ? msg.message : String(msg)),
    },
    acceptedExtensions: ['.ts', '.js', '.mjs'],
    defaultExtension: 'ts',
    // We fire the schedules ourselves (see the top of this file): to Bree every job is on demand.
    jobs: defs.map((d) => ({
      name: d.name,
      path: files.get(d.name)!,
      timeout: false,
      closeWorkerAfterMs: d.loop ? loopLifetimeMs + d.maxRunMs : d.maxRunMs,
      worker: { workerData: { settings, backend, dashboardChannels: opts.dashboard?.channels ?? null } },
    })),
    workerMessageHandler: ({ name, message }) => onMessage(name, message),
    errorHandler: (err, meta) => onWorkerError(meta.name, err),
  });

  // Validates the jobs (paths, options) once; launch() waits for it.
  // (init() is public in Bree 9 but missing from its typings)
  const ready = (bree as unknown as { init(): Promise<void> }).init();
  ready.catch((err: unknown) => logger.error({ err }, 'Bree rejected the jobs'));

  bree.createWorker = (filename: string, options: Partial<WorkerOptions>) => {
    const base = options.workerData as JobWorkerData;
    const name = base.job!.name;
    const { trigger, ...req } = nextStart.get(name) ?? { trigger: 'schedule' as const, mode: 'once' as const, slot: null, runId: null, lifetimeMs: 0 };
    nextStart.delete(name);
    const request: RunRequest = { ...req, token: randomUUID() };
    running.set(name, { request, trigger, startedAt: clock(), waiting: new Set(request.runId === null ? [] : [request.runId]), failed: false });
    const workerData: JobWorkerData = { ...base, run: request, clockOffsetMs: clock() - Date.now(), niceness: JOB_NICENESS };
    if (filename.endsWith('.ts')) return new Worker(TS_WORKER, { ...options, workerData: { ...workerData, tsJobUrl: pathToFileURL(filename).href } });
    return new Worker(filename, { ...options, workerData });
  };

  bree.on('worker deleted', (name: string) => {
    const r = running.get(name);
    running.delete(name);
    // Manual runs the worker never answered (it exited first): the caller retries once.
    for (const id of r?.waiting ?? []) settle(id, { outcome: 'busy', status: null, summary: null, error: 'worker exited before running it' });
    const def = byName.get(name);
    if (def?.loop && started && !stopping && enabled && (!opts.only || opts.only.includes(def.name))) {
      armed.set(`loop:${name}`, timers.set(() => startLoop(def), r?.failed ? LOOP_RESTART_MS : 0));
    }
  });

  function emit(e: RunEvent) {
    if (opts.metrics) {
      opts.metrics.jobRuns.inc({ job: e.job, result: e.outcome !== 'ran' ? e.outcome : e.status === 'ok' ? 'ok' : 'failed' });
      if (e.outcome === 'ran' && e.durationMs !== undefined) opts.metrics.jobDuration.observe({ job: e.job }, e.durationMs / 1000);
    }
    for (const l of listeners) {
      try {
        l(e);
      } catch {
        // a listener's problem is not the scheduler's
      }
    }
  }

  function settle(runId: number, r: RunResult) {
    const w = waiters.get(runId);
    waiters.delete(runId);
    w?.(r);
  }

  function onMessage(name: string, message: unknown) {
    const worker = bree.workers.get(name);
    if (isRpcCall(message)) {
      void answerRpc(localOps, message, (reply) => worker?.postMessage(reply));
      return;
    }
    if (!isRunReport(message)) return;
    const r = running.get(name);
    const def = byName.get(name)!;
    const trigger = message.runId === null ? 'schedule' : 'manual';
    log(def, trigger, message);
    emit({ job: def.name, trigger, slot: message.slot, outcome: message.outcome, status: message.status, summary: message.summary, error: message.error, durationMs: message.durationMs });
    if (message.runId !== null) {
      r?.waiting.delete(message.runId);
      settle(message.runId, message);
    }
  }

  function log(def: JobDefinition, trigger: string, m: RunReport) {
    const fields = { job: def.name, trigger, slot: m.slot === null ? undefined : new Date(m.slot).toISOString() };
    if (m.status?.startsWith('failed')) {
      const logged = failures.failed(def.name, m.status);
      if (logged?.unlogged) logger.error({ ...fields, err: m.error ?? undefined, unlogged: logged.unlogged }, `job ${def.name} ${m.status} (${logged.unlogged} more times since the last report)`);
      else if (logged) logger.error({ ...fields, err: m.error ?? undefined }, `job ${def.name} ${m.status}`);
      return;
    }
    const recovered = m.outcome === 'ran' ? failures.succeeded(def.name) : null;
    if (recovered) logger.info({ ...fields, failures: recovered.failures, failingForMs: recovered.sinceMs }, `job ${def.name} ok again after ${recovered.failures} failed runs`);
    else if (m.outcome !== 'ran') logger.debug(fields, `job ${def.name} skipped: ${m.outcome === 'busy' ? 'running elsewhere' : 'this occurrence already ran'}`);
    // Loop jobs run every few seconds: their routine runs are debug noise.
    else if (def.loop && trigger === 'schedule') logger.debug({ ...fields, summary: m.summary }, `job ${def.name} ok`);
    else logger.info({ ...fields, summary: m.summary }, `job ${def.name} ok`);
  }

  /** A worker died (threw outside a run, timed out, crashed): record it, free its lock. */
  function onWorkerError(name: string, err: unknown) {
    const r = running.get(name);
    if (stopping || !r || r.failed) return;
    r.failed = true;
    const def = byName.get(name)!;
    const status = failedStatus(err);
    logger.error({ job: name, err }, `job ${name} worker ${status}`);
    // Our own token: this releases the lock only if that worker still held it.
    void store.endJobRun(name, { token: r.request.token, startedAt: r.startedAt, status }).catch((e) => logger.error({ job: name, err: e }, 'could not record the failed run'));
    const result: RunResult = { outcome: 'ran', status, summary: null, error: err instanceof Error ? (err.stack ?? err.message) : String(err), durationMs: clock() - r.startedAt };
    emit({ job: def.name, trigger: r.trigger, slot: r.request.slot, ...result });
    for (const id of r.waiting) settle(id, result);
    r.waiting.clear();
  }

  /** Starts a worker for `name` unless one runs; false when one does. */
  async function launch(name: string, request: Omit<RunRequest, 'token'> & { trigger: 'schedule' | 'manual' }): Promise<boolean> {
    try {
      await ready;
      // Once Bree is initialised, run() creates the worker synchronously: check and start are atomic.
      if (stopping || bree.workers.has(name)) return false;
      nextStart.set(name, request);
      await bree.run(name);
      return true;
    } catch (err) {
      nextStart.delete(name);
      logger.error({ job: name, err }, `could not start job ${name}`);
      if (request.runId !== null) settle(request.runId, { outcome: 'ran', status: failedStatus(err), summary: null, error: String(err) });
      return true;
    }
  }

  function startLoop(def: JobDefinition) {
    void launch(def.name, { trigger: 'schedule', mode: 'loop', slot: null, runId: null, lifetimeMs: loopLifetimeMs });
  }

  /** Arms the timer for the first occurrence of a cron job after `after`. */
  function arm(def: JobDefinition, after: number) {
    if (stopping) return;
    const next = nextRunOf(def, after);
    if (next === null) return;
    const wait = Math.min(Math.max(0, next - clock()), MAX_TIMER_MS);
    armed.set(def.name, timers.set(() => {
      // Long waits are chunked; a timer may also fire a hair early by our clock.
      if (clock() < next - 1000) return arm(def, after);
      // Far too late (the machine slept, the clock jumped): that occurrence is gone, not made up.
      if (clock() - next > MAX_LATE_MS) logger.warn({ job: def.name, slot: new Date(next).toISOString() }, `job ${def.name}: occurrence missed (timer fired too late)`);
      else fire(def, next);
      arm(def, Math.max(next, clock()));
    }, wait));
  }

  function fire(def: JobDefinition, slot: number) {
    void launch(def.name, { trigger: 'schedule', mode: 'once', slot, runId: null, lifetimeMs: 0 }).then((ok) => {
      // Bree never overlaps a job with itself; this occurrence is skipped, the next one is armed.
      if (!ok && !stopping) logger.warn({ job: def.name, slot: new Date(slot).toISOString() }, `job ${def.name} still running: occurrence skipped`);
    });
  }

  async function runNow(def: JobDefinition): Promise<RunResult> {
    for (let attempt = 0; ; attempt++) {
      const runId = ++runSeq;
      const result = new Promise<RunResult>((resolve) => waiters.set(runId, resolve));
      const r = running.get(def.name);
      const worker = bree.workers.get(def.name);
      if (worker && r?.request.mode === 'loop') {
        // The loop worker is there: it runs this between its ticks.
        r.waiting.add(runId);
        worker.postMessage({ kind: 'run-now', runId } satisfies RunNow);
      } else if (worker) {
        // A run is going on here: this one follows it (the lock would refuse an overlap anyway).
        waiters.delete(runId);
        await new Promise<void>((resolve) => {
          const gone = (n: string) => n === def.name && (bree.off('worker deleted', gone), resolve());
          bree.on('worker deleted', gone);
        });
        continue;
      } else if (!(await launch(def.name, { trigger: 'manual', mode: 'once', slot: null, runId, lifetimeMs: 0 }))) {
        // Another start got there first: go round again and join it.
        waiters.delete(runId);
        if (stopping) return { outcome: 'ran', status: 'failed: interrupted by shutdown', summary: null, error: null };
        continue;
      }
      const res = await result;
      if (res.error === 'worker exited before running it' && attempt < 2) continue;
      return res;
    }
  }

  async function list(names: readonly JobDefinition[] = defs): Promise<JobInfo[]> {
    const statuses = await store.jobStatuses(names.map((d) => d.name));
    const now = clock();
    return names.map((d, i) => ({
      name: d.name,
      schedule: describeSchedule(d.schedule),
      timezone: d.schedule.kind === 'cron' ? d.schedule.timezone : null,
      lastRunAt: statuses[i]?.lastRunAt ?? null,
      lastStatus: statuses[i]?.lastStatus ?? null,
      nextRunAt: nextRunOf(d, now),
    }));
  }

  return {
    jobs: defs,
    timezone,

    async start() {
      if (started || stopping) return;
      await ready;
      started = true;
      if (!enabled) {
        logger.info('scheduler disabled on this instance (SCHEDULER_ENABLED=false): runJob still works');
        return;
      }
      const now = clock();
      for (const def of defs) {
        if (opts.only && !opts.only.includes(def.name)) continue;
        if (def.loop) {
          startLoop(def);
          continue;
        }
        // An occurrence in the last few minutes may have been missed while no instance ran
        // (a deploy at 17:10): run it now. If another instance ran it, its slot says 'done'.
        const recent = nextRunOf(def, now - MAX_LATE_MS);
        if (recent !== null && recent <= now) fire(def, recent);
        arm(def, now);
      }
      logger.info({ timezone, jobs: defs.map((d) => `${d.name} (${describeSchedule(d.schedule)})`) }, 'scheduler started');
    },

    async stop(timeoutMs = 10_000) {
      if (stopping) return;
      stopping = true;
      for (const h of armed.values()) timers.clear(h);
      armed.clear();
      const inFlight = [...running.entries()];
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        bree.stop().then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        const left = [...bree.workers.entries()];
        logger.warn({ jobs: left.map(([n]) => n), timeoutMs }, 'jobs still running at shutdown: terminating their workers');
        await Promise.all(left.map(([, w]) => w.terminate().catch(() => 0)));
        // Their locks would otherwise block every instance until they lapse.
        await Promise.all(
          inFlight
            .filter(([name]) => left.some(([n]) => n === name))
            .map(([name, r]) => store.endJobRun(name, { token: r.request.token, startedAt: r.startedAt, status: 'failed: interrupted by shutdown' }).catch(() => {})),
        );
      }
      for (const [id] of waiters) settle(id, { outcome: 'ran', status: 'failed: interrupted by shutdown', summary: null, error: null });
    },

    list: () => list(),

    async run(name) {
      const def = byName.get(name);
      if (!def) throw new DomainError('NOT_FOUND', `name: no job named "${name}" (jobs: ${defs.map((d) => d.name).join(', ')})`, 'name');
      if (stopping) throw new Error('the scheduler is shutting down');
      await runNow(def);
      return (await list([def]))[0]!;
    },

    onRun(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    running: () => [...bree.workers.keys()] as JobName[],
  };
}

/**
 * The scheduler: the schedule (schedule.ts) fires each job's occurrences; a runner does the
 * run: on this thread (processRunner: frequent, cheap jobs, and every job on the memory
 * backend) or in a Bree worker thread on its own Redis connection (worker-runner.ts). This
 * module wires them, records outcomes (log, metrics, listeners) and serves the `jobs` query
 * and the `runJob` mutation.
 *
 * Created by main.ts (and tests); it is the only thing that starts job workers and schedule timers.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { PubSubEngine } from 'graphql-subscriptions';
import { DomainError } from '../notifications/errors.js';
import type { Channels } from '../realtime/channels.js';
import type { DeliveryStore } from '../store/delivery-store.js';
import type { Store } from '../store/store.js';
import type { Metrics } from '../metrics/metrics.js';
import { FailureLog } from './failure-log.js';
import { checkTimezone, describeSchedule, serverTimezone } from './cron.js';
import { DEFAULT_WORK_END_CRON, jobDefinitions, nextRunOf, type JobDefinition, type JobName, type JobSettings, type RunResult } from './jobs.js';
import { jobOps, type DashboardBus } from './job-ops.js';
import type { WorkerRedis } from './protocol.js';
import { INTERRUPTED, processRunner, type Runner } from './runner.js';
import { createSchedule, realTimers, type Timers } from './schedule.js';
import { workerJobFiles, workerRunner } from './worker-runner.js';

export type { Timers } from './schedule.js';

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
   * Stops firing and lets runs in hand finish for at most `timeoutMs`; what is left then is
   * recorded as interrupted (workers terminated) and its lock released.
   */
  stop(timeoutMs?: number): Promise<void>;
  /** Called after every run (manual or scheduled, skipped ones included). */
  onRun(listener: (e: RunEvent) => void): () => void;
  /** Jobs with a run going on on this instance right now. */
  running(): JobName[];
}

/** How worker jobs reach the backend: Redis, their own connection; memory: no workers, every job runs in process. */
export type WorkerBackend = ({ kind: 'redis' } & WorkerRedis) | { kind: 'memory' };

export interface SchedulerOptions {
  /** the main thread's store: job status, and what jobs in process work on */
  store: Store;
  /** the main thread's outbox (prune-expired in process) */
  deliveries: DeliveryStore;
  /** the pub/sub bus (dashboard-push; a Backend is one); absent: nobody listens, refreshes go nowhere */
  bus?: { bus: PubSubEngine; channels: Channels; countSubscribers(channel: string): Promise<number> };
  backend: WorkerBackend;
  logger: Logger;
  /** this instance, as the app's DashboardFeed knows it (dashboard-push's `by`). @default a random id */
  instanceId?: string;
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
  /** The jobs whose schedule this instance fires (tests single one out); `runJob` runs any. @default all */
  only?: readonly JobName[];
  /** the folder of the worker jobs' files; @default the repository's jobs/ */
  jobsDir?: string;
  /** runs, failures and durations per job are counted here when given */
  metrics?: Pick<Metrics, 'jobRuns' | 'jobDuration'> | null;
}

/** What crosses into a worker: plain data (structured clone), no more than it needs. */
const workerRedis = ({ target, prefix, cap, partitions, waitReplicas }: WorkerRedis): WorkerRedis => ({ target, prefix, cap, partitions, waitReplicas });

const JOBS_DIR = fileURLToPath(new URL('../../jobs/', import.meta.url));

export function createScheduler(opts: SchedulerOptions): Scheduler {
  const { store, backend, logger: parentLogger, enabled = true, clock = Date.now, timers = realTimers } = opts;
  const logger = parentLogger.child({ module: 'scheduler' });
  const instance = opts.instanceId ?? randomUUID();
  const timezone = opts.timezone ? checkTimezone(opts.timezone) : serverTimezone();
  const settings: JobSettings = { workEndCron: opts.workEndCron ?? DEFAULT_WORK_END_CRON, timezone };
  const defs = jobDefinitions(settings);
  const byName = new Map(defs.map((d) => [d.name as string, d]));

  const dir = opts.jobsDir ?? JOBS_DIR;
  const workerDefs = defs.filter((d) => d.runsIn === 'worker');
  // Checked on every backend: a missing or stray file is a packaging error wherever it shows.
  const files = workerJobFiles(dir, workerDefs);

  const bus = opts.bus;
  const dashboard: DashboardBus = {
    topicListeners: async () => (bus ? bus.countSubscribers(bus.channels.topic('dashboard')) : 0),
    refresh: async (ev) => void (bus && (await bus.bus.publish(bus.channels.dashboard, ev))),
  };
  const ops = jobOps({ store, deliveries: opts.deliveries, clock, dashboard });
  const inProcess = processRunner({ ops, store, clock, instance });
  // Workers only on Redis: the memory backend's state is in this thread, so its jobs run here.
  const workers = backend.kind === 'redis' ? workerRunner({ jobs: workerDefs, files, dir, settings, redis: workerRedis(backend), store, clock, instance, logger }) : null;
  const runnerOf = (def: JobDefinition): Runner => (def.runsIn === 'worker' && workers) || inProcess;
  const runners = workers ? [inProcess, workers] : [inProcess];

  const failures = new FailureLog(clock);
  const listeners = new Set<(e: RunEvent) => void>();
  let started = false;
  let stopping = false;

  const schedule = createSchedule({
    jobs: defs.filter((d) => !opts.only || opts.only.includes(d.name)),
    clock,
    timers,
    logger,
    fire: (def, slot) => {
      if (stopping) return;
      const run = launch(def, { slot, trigger: 'schedule' });
      if (!run) {
        // A job never overlaps itself on one instance: this occurrence is skipped, the next one is armed.
        const level = def.schedule.kind === 'every' ? 'debug' : 'warn';
        logger[level]({ job: def.name, slot: slot === null ? undefined : new Date(slot).toISOString() }, `job ${def.name} still running: occurrence skipped`);
        return;
      }
      if (def.wakeAt) {
        // deliver-scheduled: wake again at the earliest pending sendAt when that comes before the next tick.
        void run.then(() => def.wakeAt!(ops).catch(() => null)).then((at) => at !== null && schedule.wakeAt(def, at));
      }
    },
  });

  /** Starts a run (null: one is going on here) and records its outcome. */
  function launch(def: JobDefinition, req: { slot: number | null; trigger: 'schedule' | 'manual' }): Promise<RunResult> | null {
    const run = runnerOf(def).start(def, req);
    return run?.then((r) => {
      log(def, req.trigger, req.slot, r);
      emit({ job: def.name, trigger: req.trigger, slot: req.slot, ...r });
      return r;
    }) ?? null;
  }

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

  function log(def: JobDefinition, trigger: string, slot: number | null, m: RunResult) {
    const fields = { job: def.name, trigger, slot: slot === null ? undefined : new Date(slot).toISOString() };
    if (m.status?.startsWith('failed')) {
      if (m.status === INTERRUPTED) return void logger.warn(fields, `job ${def.name} ${m.status}`);
      const logged = failures.failed(def.name, m.status);
      if (logged?.unlogged) logger.error({ ...fields, err: m.error ?? undefined, unlogged: logged.unlogged }, `job ${def.name} ${m.status} (${logged.unlogged} more times since the last report)`);
      else if (logged) logger.error({ ...fields, err: m.error ?? undefined }, `job ${def.name} ${m.status}`);
      return;
    }
    const recovered = m.outcome === 'ran' ? failures.succeeded(def.name) : null;
    if (recovered) logger.info({ ...fields, failures: recovered.failures, failingForMs: recovered.sinceMs }, `job ${def.name} ok again after ${recovered.failures} failed runs`);
    else if (m.outcome !== 'ran') logger.debug(fields, `job ${def.name} skipped: ${m.outcome === 'busy' ? 'running elsewhere' : 'this occurrence already ran'}`);
    // Frequent jobs run every few seconds: their routine runs are debug noise.
    else if (def.schedule.kind === 'every' && trigger === 'schedule') logger.debug({ ...fields, summary: m.summary }, `job ${def.name} ok`);
    else logger.info({ ...fields, summary: m.summary }, `job ${def.name} ok`);
  }

  /** runJob: runs now; a run going on here is waited for first (the lock would refuse an overlap anyway). */
  async function runNow(def: JobDefinition): Promise<RunResult> {
    for (;;) {
      if (stopping) return { outcome: 'ran', status: INTERRUPTED, summary: null, error: null };
      const run = launch(def, { slot: null, trigger: 'manual' });
      if (run) return run;
      await runnerOf(def).idle(def.name);
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
      started = true;
      if (!enabled) {
        logger.info('scheduler disabled on this instance (SCHEDULER_ENABLED=false): runJob still works');
        return;
      }
      schedule.start();
      logger.info({ timezone, jobs: defs.map((d) => `${d.name} (${describeSchedule(d.schedule)}, ${workers && d.runsIn === 'worker' ? 'worker thread' : 'in process'})`) }, 'scheduler started');
    },

    async stop(timeoutMs = 10_000) {
      if (stopping) return;
      stopping = true;
      schedule.stop();
      await Promise.all(runners.map((r) => r.stop(timeoutMs)));
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

    running: () => runners.flatMap((r) => r.running()),
  };
}

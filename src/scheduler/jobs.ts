/**
 * The job registry: what each job does, when, where it runs, and how one run is claimed, done
 * and recorded. Pure of threads and timers: the in-process runner, a job file (jobs/NAME.ts, in
 * a worker thread) and the tests all call {@link runOnce} with a {@link JobOps} and a clock.
 */
import type { BroadcastRecord } from '../notifications/types.js';
import type { JobRunClaim, JobRunEnd } from '../store/store.js';
import type { DashboardEvent } from '../realtime/events.js';
import { localDate, nextRun, parseCron, type Schedule } from './cron.js';

/** Everything a job may do, over the store and bus of the thread it runs in (job-ops.ts). */
export interface JobOps {
  /** store.beginJobRun at the ops' clock */
  beginRun(name: string, claim: JobRunClaim): Promise<'started' | 'busy' | 'done'>;
  endRun(name: string, end: JobRunEnd): Promise<void>;
  /** The saveOffline broadcast of the day `date` (YYYY-MM-DD), deduplicated per date. */
  workEndReminder(date: string): Promise<BroadcastRecord>;
  /** Delivers the scheduled sends that are due. */
  deliverDue(): Promise<{ sends: number; stored: number }>;
  nextScheduledAt(): Promise<number | null>;
  /** store.pruneExpired: users visited */
  pruneExpired(): Promise<number>;
  /** deliveries past their retention forgotten (delivery-store.ts) */
  pruneDeliveries(): Promise<number>;
  /** Subscribers of the `dashboard` topic: instances on Redis (PUBSUB NUMSUB), streams in process. */
  dashboardTopicListeners(): Promise<number>;
  /**
   * Publishes a refresh on the dashboard channel, which every instance listens to: each pushes
   * its own dashboard to its `dashboardUpdated` listeners, and the instance `by` also publishes
   * one snapshot on the `dashboard` topic when `topic` is set (src/dashboard/feed.ts).
   */
  refreshDashboard(ev: DashboardEvent): Promise<void>;
}

export const JOB_NAMES = ['work-end-reminder', 'deliver-scheduled', 'prune-expired', 'dashboard-push'] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** What the registry is built from: plain data, so it crosses into worker threads (workerData). */
export interface JobSettings {
  /** @default '10 17 * * *' */
  workEndCron: string;
  /** IANA zone of the cron jobs, already resolved (the server's when not configured) */
  timezone: string;
}

export interface RunContext {
  /** the scheduled occurrence this run is for (ms); null for a manual or an extra run */
  slot: number | null;
  /** the run's start by the job's clock */
  now: number;
  /** the instance that runs it (its scheduler's id) */
  instance: string;
}

export interface JobDefinition {
  name: JobName;
  schedule: Schedule;
  /** the run lock's PX: another instance may start once it lapses (a dead owner) */
  lockTtlMs: number;
  /** a worker running longer is terminated (Bree closeWorkerAfterMs) and the run recorded as failed */
  maxRunMs: number;
  /**
   * 'worker': a Bree worker thread with its own connection (Redis; rare, possibly long runs).
   * 'process': on the main thread, over its store and bus: frequent runs of a few round trips,
   * where a worker's start (~0.5 s of CPU) or a kept-alive worker (~25 MB) costs more than the
   * work (docs/jobs.md). The memory backend runs every job in process (its state is there).
   */
  runsIn: 'worker' | 'process';
  /** an extra run before the next tick (deliver-scheduled: the earliest sendAt) */
  wakeAt?: (ops: JobOps) => Promise<number | null>;
  /** One run; returns a short summary for the log. Throwing marks the run failed. */
  run(ops: JobOps, ctx: RunContext): Promise<string>;
}

export const DEFAULT_WORK_END_CRON = '10 17 * * *';
/** prune-expired: often enough that memory comes back to baseline within minutes. */
export const PRUNE_CRON = '*/10 * * * *';
const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** The jobs, in `jobs` query order. Throws ScheduleError for a bad cron or zone. */
export function jobDefinitions(settings: JobSettings): JobDefinition[] {
  const tz = settings.timezone;
  return [
    {
      name: 'work-end-reminder',
      schedule: { kind: 'cron', cron: parseCron(settings.workEndCron), timezone: tz },
      lockTtlMs: 10 * MINUTE,
      maxRunMs: 10 * MINUTE,
      runsIn: 'worker',
      async run(ops, { slot, now }) {
        // The occurrence's local date (a manual run: today's): one reminder per user per day,
        // however often it runs and on however many instances.
        const date = localDate(slot ?? now, tz);
        const b = await ops.workEndReminder(date);
        return b.recipients > 0 || b.deduplicated === 0
          ? `work_end_reminder ${date}: broadcast ${b.id} stored for ${b.recipients} users (${b.muted} muted)`
          : `work_end_reminder ${date}: already sent today (deduplicated)`;
      },
    },
    {
      name: 'deliver-scheduled',
      schedule: { kind: 'every', everyMs: SECOND },
      lockTtlMs: MINUTE,
      maxRunMs: 15 * MINUTE,
      runsIn: 'process',
      wakeAt: (ops) => ops.nextScheduledAt(),
      async run(ops) {
        const { sends, stored } = await ops.deliverDue();
        return `delivered ${sends} scheduled sends (${stored} notifications stored)`;
      },
    },
    {
      name: 'prune-expired',
      schedule: { kind: 'cron', cron: parseCron(PRUNE_CRON), timezone: tz },
      lockTtlMs: 30 * MINUTE,
      maxRunMs: 30 * MINUTE,
      runsIn: 'worker',
      async run(ops) {
        const users = await ops.pruneExpired();
        return `pruned ${users} users, ${await ops.pruneDeliveries()} deliveries`;
      },
    },
    {
      name: 'dashboard-push',
      schedule: { kind: 'every', everyMs: 5 * SECOND },
      lockTtlMs: 30 * SECOND,
      maxRunMs: MINUTE,
      runsIn: 'process',
      async run(ops, { slot, now, instance }) {
        // A refresh costs an instance without listeners nothing; the topic snapshot is computed
        // (by this instance) only while someone subscribes to it.
        const topic = await ops.dashboardTopicListeners();
        await ops.refreshDashboard({ kind: 'refresh', at: slot ?? now, by: instance, topic: topic > 0 });
        return `refresh published (dashboard topic: ${topic > 0 ? `${topic} listening` : 'no listeners'})`;
      },
    },
  ];
}

export interface RunResult {
  /** 'ran': this run did the work (status says how it went); 'busy'/'done': skipped, see beginJobRun */
  outcome: 'ran' | 'busy' | 'done';
  /** "ok" | "failed: <reason>" when it ran */
  status: string | null;
  summary: string | null;
  /** the error's stack when it failed */
  error: string | null;
  /** how long a run that did the work took (outcome 'ran') */
  durationMs?: number;
}

/** "failed: <reason>": one line, bounded. */
export function failedStatus(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return `failed: ${msg.replace(/\s+/g, ' ').trim().slice(0, 300) || 'unknown error'}`;
}

/**
 * One run: claim it for the cluster (lock per job, once per slot), run, record lastRunAt and
 * lastStatus, release the lock. A failure is recorded, never thrown.
 */
export async function runOnce(def: JobDefinition, ops: JobOps, { slot, token, clock, instance }: { slot: number | null; token: string; clock: () => number; instance: string }): Promise<RunResult> {
  const startedAt = clock();
  let claim: 'started' | 'busy' | 'done';
  try {
    claim = await ops.beginRun(def.name, { token, ttlMs: def.lockTtlMs, slot });
  } catch (err) {
    // Not even the lock could be taken (backend down): nothing to record it in.
    return { outcome: 'ran', status: failedStatus(err), summary: null, error: stackOf(err), durationMs: clock() - startedAt };
  }
  if (claim !== 'started') return { outcome: claim, status: null, summary: null, error: null };
  let status = 'ok';
  let summary: string | null = null;
  let error: string | null = null;
  try {
    summary = await def.run(ops, { slot, now: startedAt, instance });
  } catch (err) {
    status = failedStatus(err);
    error = stackOf(err);
  }
  try {
    await ops.endRun(def.name, { token, startedAt, status });
  } catch (err) {
    // The work is done (or failed) either way. The lock is released as soon as the backend
    // answers again: left to lapse, a Redis outage during a run would hold the job (scheduled
    // sends: 1 min) after Redis is back.
    error ??= stackOf(err);
    if (status === 'ok') status = failedStatus(new Error(`ran, but could not record it: ${err instanceof Error ? err.message : String(err)}`));
    const end = { token, startedAt, status };
    // Real time, not the job clock: these retries run on real timers until the lock lapses.
    const giveUpAt = Date.now() + def.lockTtlMs;
    const retry = () => {
      ops.endRun(def.name, end).catch(() => {
        if (Date.now() < giveUpAt) setTimeout(retry, END_RETRY_MS).unref();
      });
    };
    setTimeout(retry, END_RETRY_MS).unref();
  }
  return { outcome: 'ran', status, summary, error, durationMs: clock() - startedAt };
}

/** How often a run that could not release its lock tries again (until the lock lapses). */
const END_RETRY_MS = 500;

const stackOf = (err: unknown) => (err instanceof Error ? (err.stack ?? err.message) : String(err));

/** When a job runs next after `after` (null: never). */
export const nextRunOf = (def: JobDefinition, after: number) => nextRun(def.schedule, after);

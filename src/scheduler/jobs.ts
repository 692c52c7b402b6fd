/**
 * The job registry: what each job of jobs/ does, when, and how one run is claimed, done and
 * recorded. Pure of threads and timers: a job file (jobs/NAME.ts, in a worker thread) and the
 * tests both call {@link runOnce} with a {@link JobOps} and a clock.
 */
import type { BroadcastRecord } from '../notifications/types.js';
import type { JobRunClaim, JobRunEnd } from '../store/store.js';
import { localDate, nextRun, parseCron, type Schedule } from './cron.js';

/** Everything a job may do, implemented over a store (local-ops.ts) or relayed to the main thread (protocol.ts). */
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
  /** Who listens to the dashboard (instances with listeners on Redis, streams in memory). */
  dashboardListeners(): Promise<DashboardListeners>;
  /** Publishes the dashboard where someone listens: dashboardUpdated and/or the `dashboard` topic. */
  publishDashboard(to: DashboardListeners): Promise<void>;
}

export interface DashboardListeners {
  /** Subscription.dashboardUpdated */
  updated: number;
  /** Subscription.topic(names: ["dashboard"]) */
  topic: number;
}

/** The names of {@link JobOps}, for relaying them by name. */
export const JOB_OPS = [
  'beginRun',
  'endRun',
  'workEndReminder',
  'deliverDue',
  'nextScheduledAt',
  'pruneExpired',
  'pruneDeliveries',
  'dashboardListeners',
  'publishDashboard',
] as const satisfies readonly (keyof JobOps)[];

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
}

export interface JobDefinition {
  name: JobName;
  schedule: Schedule;
  /** the run lock's PX: another instance may start once it lapses (a dead owner) */
  lockTtlMs: number;
  /** a worker running longer is terminated (Bree closeWorkerAfterMs) and the run recorded as failed */
  maxRunMs: number;
  /**
   * Frequent jobs keep one worker running their schedule for `lifetimeMs` (then a fresh one
   * takes over): starting a worker costs ~0.5 s of CPU, too much every second.
   */
  loop?: {
    lifetimeMs: number;
    /** an extra wake-up before the next tick (deliver-scheduled: the earliest sendAt) */
    wakeAt?: (ops: JobOps) => Promise<number | null>;
  };
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
      loop: { lifetimeMs: 10 * MINUTE, wakeAt: (ops) => ops.nextScheduledAt() },
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
      async run(ops) {
        const users = await ops.pruneExpired();
        return `pruned ${users} users, ${await ops.pruneDeliveries()} deliveries`;
      },
    },
    {
      name: 'dashboard-push',
      schedule: { kind: 'every', everyMs: 5 * SECOND },
      lockTtlMs: 30 * SECOND,
      maxRunMs: 15 * MINUTE,
      loop: { lifetimeMs: 10 * MINUTE },
      async run(ops) {
        // Only while someone listens: computing the dashboard for nobody is wasted work.
        const to = await ops.dashboardListeners();
        if (to.updated + to.topic === 0) return 'no listeners';
        await ops.publishDashboard(to);
        return `published (dashboardUpdated: ${to.updated}, topic: ${to.topic} listening)`;
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
export async function runOnce(def: JobDefinition, ops: JobOps, { slot, token, clock }: { slot: number | null; token: string; clock: () => number }): Promise<RunResult> {
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
    summary = await def.run(ops, { slot, now: startedAt });
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

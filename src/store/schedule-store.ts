import type { ExternalChannel } from './deliveries.js';
import type { NotificationContent } from './types.js';

/** Scheduled sends and job runs (src/scheduler, docs/jobs.md; Store semantics: store.ts). */
export interface ScheduleStore {
  /** Keeps a send for later delivery; returns its id, taken from the same sequence as item ids. */
  schedule(send: ScheduledSend, now: number): Promise<string>;
  /**
   * Leases up to `limit` sends due at `now` (sendAt <= now, or a lapsed lease), oldest due
   * first, until `now + leaseMs`: a deliverer that dies before completing gives them back then.
   */
  claimScheduled(now: number, limit: number, leaseMs: number): Promise<ClaimedSend[]>;
  /** Forgets a delivered send (no-op when it is gone). */
  completeScheduled(id: string): Promise<void>;
  /** When the earliest pending send (or lapsed lease) is due; null when none is pending. */
  nextScheduledAt(): Promise<number | null>;

  /**
   * Claims a run of job `name` for every instance: 'busy' while another owner's lock lives
   * (SET NX PX `ttlMs`, value `token`); with a `slot` (the scheduled occurrence, ms), 'done'
   * when a run for that slot or a later one already started; else takes the lock, records the
   * slot and returns 'started'. `name` matches {@link JOB_NAME}.
   */
  beginJobRun(name: string, run: JobRunClaim, now: number): Promise<'started' | 'busy' | 'done'>;
  /** Records how a run ended and releases the lock if `token` still owns it (never another's). */
  endJobRun(name: string, run: JobRunEnd): Promise<void>;
  /** Last run of each job, in key order (nulls for a job that never ran). */
  jobStatuses(names: readonly string[]): Promise<JobStatus[]>;
}

/** Job names: they are parts of keys (no braces, so never a hash tag) and jobs/ file names. */
export const JOB_NAME = /^[a-z][a-z0-9-]{0,63}$/;

/** A sendNotification with a future sendAt, its content resolved (and validated) at request time. */
export interface ScheduledSend {
  userIds: string[];
  /** createdAt and expiresAt are set at delivery: the TTL counts from then */
  content: Omit<NotificationContent, 'createdAt' | 'expiresAt' | 'broadcast'>;
  ttlMs: number;
  dedupKey?: string;
  dedupWindowMs: number;
  sendAt: number;
  channels?: ExternalChannel[];
  escalateAfterMs?: number;
}

export interface ClaimedSend extends ScheduledSend {
  id: string;
}

export interface JobRunClaim {
  /** random, unique per run owner; only this token releases the lock */
  token: string;
  /** the lock's PX: it frees itself if the owner dies */
  ttlMs: number;
  /** the scheduled occurrence being run (ms), or null for a manual run */
  slot: number | null;
}

export interface JobRunEnd {
  token: string;
  /** becomes lastRunAt */
  startedAt: number;
  /** "ok" | "failed: <reason>" */
  status: string;
}

export interface JobStatus {
  lastRunAt: number | null;
  lastStatus: string | null;
}

/**
 * The schedule: when each job runs. One timer per job for its next occurrence (cron in a zone,
 * from cron.ts, or a fixed period aligned to the epoch), fired on an injected clock and timers;
 * catch-up of an occurrence missed just before start; extra wake-ups a job asks for
 * (deliver-scheduled: the earliest sendAt). What a firing does is the caller's `fire`.
 *
 * Why we fire occurrences ourselves instead of giving Bree the cron: Bree's timer
 * (@breejs/later) applies a zone by the offset in force *now*, so the first run after a DST
 * change of a zone other than the server's is an hour off, and its parser maps day-of-week 7
 * to Saturday. Our own timer fires exactly the occurrence `jobs` shows as nextRunAt, and the
 * run carries that occurrence (its slot) to the cross-instance lock.
 */
import type { Logger } from 'pino';
import { nextRunOf, type JobDefinition } from './jobs.js';

/** The timer functions the schedule uses; tests pass fake ones and fire them by hand. */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** setTimeout's ceiling; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A cron timer firing later than this after its occurrence skips it; at start, occurrences this recent are caught up. */
export const MAX_LATE_MS = 5 * 60_000;

export interface Schedule {
  /** Arms every job's next occurrence; runs an occurrence missed in the last few minutes now. */
  start(): void;
  /** An extra firing of `def` at `at` (slot null) when that is before its next occurrence. */
  wakeAt(def: JobDefinition, at: number): void;
  /** Clears every timer; nothing fires after it. */
  stop(): void;
}

export function createSchedule({
  jobs,
  clock,
  timers,
  logger,
  fire,
}: {
  jobs: readonly JobDefinition[];
  clock: () => number;
  timers: Timers;
  logger: Logger;
  /** an occurrence (slot: its time, ms) or an extra wake-up (slot null) of `def` is due */
  fire: (def: JobDefinition, slot: number | null) => void;
}): Schedule {
  const armed = new Map<string, unknown>();
  /** extra wake-ups by job: [time, timer] */
  const extra = new Map<string, [number, unknown]>();
  let stopped = false;

  /** Arms the timer for the first occurrence of `def` after `after`. */
  function arm(def: JobDefinition, after: number) {
    if (stopped) return;
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

  return {
    start() {
      const now = clock();
      for (const def of jobs) {
        // An occurrence in the last few minutes may have been missed while no instance ran
        // (a deploy at 17:10): run it now. If another instance ran it, its slot says 'done'.
        // Fixed periods just take the next tick.
        if (def.schedule.kind === 'cron') {
          const recent = nextRunOf(def, now - MAX_LATE_MS);
          if (recent !== null && recent <= now) fire(def, recent);
        }
        arm(def, now);
      }
    },

    wakeAt(def, at) {
      if (stopped) return;
      const next = nextRunOf(def, clock());
      const pending = extra.get(def.name);
      if ((next !== null && at >= next) || (pending && pending[0] <= at)) return;
      if (pending) timers.clear(pending[1]);
      extra.set(def.name, [at, timers.set(() => {
        extra.delete(def.name);
        fire(def, null);
      }, Math.max(0, at - clock()))]);
    },

    stop() {
      stopped = true;
      for (const h of armed.values()) timers.clear(h);
      for (const [, h] of extra.values()) timers.clear(h);
      armed.clear();
      extra.clear();
    },
  };
}

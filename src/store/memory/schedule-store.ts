import { encodeSeq } from '../ids.js';
import type { JobStatus, ScheduledSend, ScheduleStore } from '../schedule-store.js';
import type { Sequence } from './sequence.js';

/** Scheduled sends and job runs in memory, like keys.ts schedulerKeys. */
export function createMemoryScheduleStore(sequence: Sequence): ScheduleStore {
  /** scheduled sends by id, with the time each is due (sendAt, or its lease end once claimed) */
  const scheduled = new Map<string, { send: ScheduledSend; dueAt: number }>();
  /** job runs: the lock (owner token, expiry) and the last run, like P{g}:job:NAME(:lock) */
  const jobs = new Map<string, JobStatus & { lastSlot: number | null; lock: { token: string; until: number } | null }>();
  const job = (name: string) => {
    let j = jobs.get(name);
    if (!j) jobs.set(name, (j = { lastRunAt: null, lastStatus: null, lastSlot: null, lock: null }));
    return j;
  };

  return {
    async schedule(send, _now) {
      const id = encodeSeq(sequence.next());
      scheduled.set(id, { send: structuredClone(send), dueAt: send.sendAt });
      return id;
    },

    async claimScheduled(now, limit, leaseMs) {
      const dueNow = [...scheduled].filter(([, s]) => s.dueAt <= now).sort((a, b) => a[1].dueAt - b[1].dueAt || (a[0] < b[0] ? -1 : 1));
      return dueNow.slice(0, limit).map(([id, s]) => {
        s.dueAt = now + leaseMs;
        return { ...structuredClone(s.send), id };
      });
    },

    async completeScheduled(id) {
      scheduled.delete(id);
    },

    async nextScheduledAt() {
      let next: number | null = null;
      for (const s of scheduled.values()) if (next === null || s.dueAt < next) next = s.dueAt;
      return next;
    },

    async beginJobRun(name, run, now) {
      const j = job(name);
      if (run.slot !== null && j.lastSlot !== null && j.lastSlot >= run.slot) return 'done';
      if (j.lock && j.lock.until > now) return 'busy';
      j.lock = { token: run.token, until: now + Math.max(1, Math.round(run.ttlMs)) };
      if (run.slot !== null) j.lastSlot = run.slot;
      return 'started';
    },

    async endJobRun(name, run) {
      const j = job(name);
      j.lastRunAt = run.startedAt;
      j.lastStatus = run.status;
      if (run.token !== '' && j.lock?.token === run.token) j.lock = null;
    },

    async jobStatuses(names) {
      return names.map((n) => {
        const j = jobs.get(n);
        return { lastRunAt: j?.lastRunAt ?? null, lastStatus: j?.lastStatus ?? null };
      });
    },
  };
}

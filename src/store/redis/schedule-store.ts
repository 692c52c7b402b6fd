import type { ClaimedSend, ScheduledSend, ScheduleStore } from '../schedule-store.js';
import type { RedisContext } from './context.js';
import { schedulerKeys } from './keys.js';
import { NONE, script } from './scripts.js';

/** Scheduled sends and job runs on Redis (keys.ts schedulerKeys). */
export function createRedisScheduleStore({ redis, prefix, keys, batch, one }: RedisContext): ScheduleStore {
  const scheduler = schedulerKeys(prefix);
  const { seq } = keys.global;
  const { sched, schedbody } = scheduler;
  return {
    async schedule(send, _now) {
      return one<string>((on) => script(on, 'scheduleSend', { seq, sched, schedbody }, { sendAt: send.sendAt, json: JSON.stringify(send) }), true);
    },

    async claimScheduled(now, limit, leaseMs) {
      const flat = await script(redis, 'claimScheduled', { sched, schedbody }, { now, limit, leaseEnd: now + leaseMs });
      const out: ClaimedSend[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ ...(JSON.parse(flat[i + 1]!) as ScheduledSend), id: flat[i]! });
      return out;
    },

    async completeScheduled(id) {
      await redis.multi().zrem(sched, id).hdel(schedbody, id).exec();
    },

    async nextScheduledAt() {
      const [, score] = await redis.zrange(sched, '0', '0', 'WITHSCORES');
      return score === undefined ? null : Number(score);
    },

    async beginJobRun(name, run) {
      return script(redis, 'beginJobRun', scheduler.job(name), { token: run.token, ttlMs: Math.max(1, Math.round(run.ttlMs)), slot: run.slot ?? NONE });
    },

    async endJobRun(name, run) {
      await script(redis, 'endJobRun', scheduler.job(name), { token: run.token, startedAt: run.startedAt, status: run.status });
    },

    async jobStatuses(names) {
      const replies = await batch(names, () => -1, (on, name) => on.hmget(scheduler.job(name).status, 'lastRunAt', 'lastStatus'));
      return names.map((_, i) => {
        const [at, status] = (replies[i] as (string | null)[] | null) ?? [null, null];
        return { lastRunAt: at == null ? null : Number(at), lastStatus: status ?? null };
      });
    },
  };
}

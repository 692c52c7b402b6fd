import { statsDay, type AdminStore } from '../admin-store.js';
import type { NotificationTypePolicy, Template } from '../types.js';
import type { RedisContext } from './context.js';
import { statsKey } from './keys.js';
import { script } from './scripts.js';

/** Policies, templates, the day's counters and health on Redis. */
export function createRedisAdminStore({ redis, prefix, keys }: RedisContext): AdminStore {
  const { policies, templates, seq, epoch } = keys.global;
  return {
    async getPolicies() {
      return Object.values(await redis.hgetall(policies)).map((v) => JSON.parse(v) as NotificationTypePolicy);
    },

    async setPolicy(policy) {
      await redis.hset(policies, policy.type, JSON.stringify(policy));
    },

    async getTemplates() {
      return Object.values(await redis.hgetall(templates)).map((v) => JSON.parse(v) as Template);
    },

    async upsertTemplate(template) {
      await redis.hset(templates, template.name, JSON.stringify(template));
    },

    async dailyStats(now) {
      const day = statsDay(now);
      const counts = await redis.hgetall(statsKey(prefix, day));
      const byType: Record<string, number> = {};
      for (const [field, n] of Object.entries(counts)) if (field.startsWith('type:')) byType[field.slice(5)] = Number(n);
      return { day, sent: Number(counts.sent ?? 0), deduplicated: Number(counts.dedup ?? 0), byType };
    },

    async usedMemoryBytes() {
      const m = /^used_memory:(\d+)\s*$/m.exec(String(await redis.info('memory')));
      return m ? Number(m[1]) : null;
    },

    async epoch() {
      return Number(await script(redis, 'epoch', { seq, epoch }, {}));
    },

    async ping() {
      try {
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
  };
}

import { statsDay, type AdminStore } from '../admin-store.js';
import type { NotificationTypePolicy, Template } from '../types.js';
import { mastersOf } from './client.js';
import type { RedisContext } from './context.js';
import { script } from './scripts.js';

/** Policies, templates, the day's counters and health on Redis. */
export function createRedisAdminStore({ redis, keys, eachPartition, one }: RedisContext): AdminStore {
  const { policies, templates } = keys.global;
  return {
    async getPolicies() {
      return Object.values(await redis.hgetall(policies)).map((v) => JSON.parse(v) as NotificationTypePolicy);
    },

    async setPolicy(policy) {
      await one((on) => on.hset(policies, policy.type, JSON.stringify(policy)), true);
    },

    async getTemplates() {
      return Object.values(await redis.hgetall(templates)).map((v) => JSON.parse(v) as Template);
    },

    async upsertTemplate(template) {
      await one((on) => on.hset(templates, template.name, JSON.stringify(template)), true);
    },

    async dailyStats(now) {
      const day = statsDay(now);
      // One hash per partition, summed.
      const counts: Record<string, number> = {};
      for (const h of (await eachPartition((on, p) => on.hgetall(p.day(day)))) as Record<string, string>[]) {
        for (const [field, n] of Object.entries(h)) counts[field] = (counts[field] ?? 0) + Number(n);
      }
      const byType: Record<string, number> = {};
      for (const [field, n] of Object.entries(counts)) if (field.startsWith('type:')) byType[field.slice(5)] = n;
      return { day, sent: counts.sent ?? 0, deduplicated: counts.dedup ?? 0, byType };
    },

    // On a Cluster, the masters' sum.
    async usedMemoryBytes() {
      const nodes = mastersOf(redis);
      let total = 0;
      for (const info of await Promise.all(nodes.map((n) => n.info('memory')))) {
        const m = /^used_memory:(\d+)\s*$/m.exec(String(info));
        if (!m) return null;
        total += Number(m[1]);
      }
      return total;
    },

    // The newest partition epoch: a partition that lost its data gets one above every id
    // issued before, so the maximum changes (EpochWatch). All are made on the first read.
    async epoch() {
      const epochs = (await eachPartition((on, p) => script(on, 'epoch', p, {}))) as string[];
      return Math.max(...epochs.map(Number));
    },

    async ping() {
      try {
        const nodes = mastersOf(redis);
        if (nodes.length === 0) return false;
        return (await Promise.all(nodes.map((n) => n.ping()))).every((r) => r === 'PONG');
      } catch {
        return false;
      }
    },
  };
}

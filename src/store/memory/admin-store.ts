import { statsDay, type AdminStore, type DailyStats } from '../admin-store.js';
import type { NotificationTypePolicy, Template } from '../types.js';
import type { Sequence } from './sequence.js';

/** Counts into the day's counters (sendNotification.lua and broadcastPart.lua on Redis). */
export type CountStats = (now: number, what: 'sent' | 'deduplicated', n: number, type?: string) => void;

/** Policies, templates, the day's counters (which `count` keeps) and health, in memory. */
export function createMemoryAdminStore(sequence: Sequence): { store: AdminStore; count: CountStats } {
  const policies = new Map<string, NotificationTypePolicy>();
  const templates = new Map<string, Template>();
  /** day -> counters, like P{p:N}:stats:DAY (the last few days are kept) */
  const stats = new Map<string, DailyStats>();
  const count: CountStats = (now, what, n, type) => {
    if (n <= 0) return;
    const day = statsDay(now);
    let d = stats.get(day);
    if (!d) {
      stats.set(day, (d = { day, sent: 0, deduplicated: 0, byType: {} }));
      for (const old of [...stats.keys()].sort().slice(0, -3)) stats.delete(old);
    }
    d[what] += n;
    if (type !== undefined) d.byType[type] = (d.byType[type] ?? 0) + n;
  };

  const store: AdminStore = {
    async getPolicies() {
      return [...policies.values()];
    },
    async setPolicy(p) {
      policies.set(p.type, { ...p });
    },
    async getTemplates() {
      return [...templates.values()];
    },
    async upsertTemplate(t) {
      templates.set(t.name, { ...t });
    },
    async dailyStats(now) {
      const day = statsDay(now);
      const d = stats.get(day);
      return d ? { ...d, byType: { ...d.byType } } : { day, sent: 0, deduplicated: 0, byType: {} };
    },
    async usedMemoryBytes() {
      return null;
    },
    async ping() {
      return true;
    },

    async epoch() {
      return sequence.epoch;
    },
  };
  return { store, count };
}

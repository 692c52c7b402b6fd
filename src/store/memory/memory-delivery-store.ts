import {
  DELIVERY_STATUSES,
  EXTERNAL_CHANNELS,
  deliveryId,
  route,
  type ChannelAddress,
  type ChannelPreferences,
  type Delivery,
  type DeliveryStatus,
  type ExternalChannel,
} from '../deliveries.js';
import { DELIVERY_RETENTION_MS, applyOutcome, isOpen, type DeliveryStore, type OutboxEntry } from '../delivery-store.js';
import { scanLog } from '../delivery-log.js';

/** What the memory store calls when it stores a notification (sendNotification.lua's queueing). */
export interface MemoryOutbox extends DeliveryStore {
  queue(q: { userId: string; prefs: ChannelPreferences; notificationId: string; type: string; content: string; channels: readonly ExternalChannel[]; escalateAfterMs: number }, now: number): void;
}

/**
 * The outbox in process, with the Redis store's semantics: one ready queue per channel, entries
 * owned by a consumer until finished, reclaimable after they idle. Single-threaded JS makes
 * each method atomic, as a Lua script is.
 */
export function createMemoryDeliveryStore(): MemoryOutbox {
  const addresses = new Map<string, Map<ExternalChannel, ChannelAddress>>();
  const records = new Map<string, Delivery>();
  /** ids in creation order (= id order) */
  const log: string[] = [];
  const due = new Map<string, number>();
  const purgeAt = new Map<string, number>();
  const ready = new Map<ExternalChannel, OutboxEntry[]>(EXTERNAL_CHANNELS.map((c) => [c, []]));
  const pending = new Map<string, { entry: OutboxEntry; consumer: string; since: number }>();
  let nextEntry = 0;
  let wake: (() => void)[] = [];

  const push = (channel: ExternalChannel, id: string) => {
    ready.get(channel)!.push({ entryId: String(++nextEntry), deliveryId: id, channel });
    const w = wake;
    wake = [];
    for (const f of w) f();
  };
  const finished = (d: Delivery, now: number) => {
    if (!isOpen(d.status)) purgeAt.set(d.id, now + DELIVERY_RETENTION_MS);
  };
  const takeNow = (channels: readonly ExternalChannel[], consumer: string, count: number) => {
    const out: OutboxEntry[] = [];
    for (const c of channels) {
      for (const entry of ready.get(c)!.splice(0, Math.max(1, count))) {
        pending.set(entry.entryId, { entry, consumer, since: Date.now() });
        out.push(entry);
      }
    }
    return out;
  };
  const counts = () => {
    const byStatus = Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, 0])) as Record<DeliveryStatus, number>;
    for (const d of records.values()) byStatus[d.status]++;
    return byStatus;
  };

  return {
    queue({ userId, prefs, notificationId, type, content, channels, escalateAfterMs }, now) {
      const has = (c: ExternalChannel) => addresses.get(userId)?.has(c) ?? false;
      for (const r of route(channels, prefs, type, has)) {
        const id = deliveryId(notificationId, r.channel);
        const escalate = escalateAfterMs > 0;
        const d: Delivery = {
          id, notificationId, userId, channel: r.channel, status: r.status, attempts: 0,
          lastError: r.status === 'SKIPPED' ? r.reason : null, createdAt: now,
          nextAttemptAt: r.status === 'PENDING' && escalate ? now + escalateAfterMs : null,
          deliveredAt: null, escalate, content,
        };
        records.set(id, d);
        // Kept in id order, as the Redis log (a lexicographic zset) is.
        let at = log.length;
        while (at > 0 && log[at - 1]! > id) at--;
        log.splice(at, 0, id);
        if (r.status === 'SKIPPED') finished(d, now);
        else if (escalate) due.set(id, d.nextAttemptAt!);
        else push(r.channel, id);
      }
    },

    async setAddress(userId, a) {
      let m = addresses.get(userId);
      if (!m) addresses.set(userId, (m = new Map()));
      m.set(a.channel, { ...a });
    },
    async removeAddress(userId, channel) {
      return addresses.get(userId)?.delete(channel) ?? false;
    },
    async addresses(userId) {
      const m = addresses.get(userId);
      return EXTERNAL_CHANNELS.flatMap((c) => (m?.has(c) ? [{ ...m.get(c)! }] : []));
    },

    async get(ids) {
      return ids.map((id) => (records.has(id) ? { ...records.get(id)! } : null));
    },

    async log(q) {
      let total: number | null = null;
      if (!q.userId) {
        total = 0;
        for (const d of records.values()) if ((!q.status?.length || q.status.includes(d.status)) && (!q.channel || d.channel === q.channel)) total++;
      }
      return scanLog(q, total, async (before, n) => {
        let end = log.length;
        if (before !== null) {
          // ids are ascending: the first index at or past `before`
          let lo = 0;
          let hi = log.length;
          while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if (log[mid]! < before) lo = mid + 1;
            else hi = mid;
          }
          end = lo;
        }
        const ids = log.slice(Math.max(0, end - n), end).reverse();
        return { ids, records: ids.map((id) => (records.has(id) ? { ...records.get(id)! } : null)) };
      });
    },

    async retry(id, now) {
      const d = records.get(id);
      if (!d) return 'not_found';
      if (d.status !== 'FAILED') return 'not_failed';
      const next: Delivery = { ...d, status: 'PENDING', attempts: 0, lastError: null, nextAttemptAt: now };
      records.set(id, next);
      purgeAt.delete(id);
      due.set(id, now);
      return { ...next };
    },

    async promoteDue(now, limit) {
      const ids = [...due].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limit).map(([id]) => id);
      for (const id of ids) {
        due.delete(id);
        push(records.get(id)!.channel, id);
      }
      let nextDueAt: number | null = null;
      for (const at of due.values()) if (nextDueAt === null || at < nextDueAt) nextDueAt = at;
      return { moved: ids.length, nextDueAt };
    },

    async take(channels, consumer, count, blockMs) {
      const now = takeNow(channels, consumer, count);
      if (now.length > 0 || blockMs <= 0) return now;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, blockMs);
        function done() {
          clearTimeout(timer);
          wake = wake.filter((f) => f !== done);
          resolve();
        }
        wake.push(done);
      });
      return takeNow(channels, consumer, count);
    },

    async reclaim(channel, consumer, idleMs, count) {
      const out: OutboxEntry[] = [];
      const cutoff = Date.now() - idleMs;
      for (const p of pending.values()) {
        if (out.length >= count) break;
        if (p.entry.channel !== channel || p.since > cutoff) continue;
        p.consumer = consumer;
        p.since = Date.now();
        out.push(p.entry);
      }
      return out;
    },

    async finish(entry, outcome, now) {
      pending.delete(entry.entryId);
      const d = records.get(entry.deliveryId);
      if (!d || !isOpen(d.status)) return null;
      const next = applyOutcome(d, outcome, now);
      records.set(d.id, next);
      if (isOpen(next.status)) due.set(d.id, next.nextAttemptAt!);
      finished(next, now);
      return { ...next };
    },

    async prune(now, limit = Infinity) {
      let n = 0;
      for (const [id, at] of purgeAt) {
        if (n >= limit) break;
        if (at > now) continue;
        purgeAt.delete(id);
        records.delete(id);
        n++;
      }
      if (n > 0) {
        const kept = log.filter((id) => records.has(id));
        log.length = 0;
        log.push(...kept);
      }
      return n;
    },

    async countByStatus() {
      return counts();
    },
  };
}

import type { Cluster, Redis } from 'ioredis';
import { DELIVERY_STATUSES, type ChannelAddress, type Delivery, type DeliveryStatus, type ExternalChannel } from '../../notifications/deliveries.js';
import { EXTERNAL_CHANNELS } from '../../channels/provider.js';
import { DELIVERY_RETENTION_MS, type DeliveryLogPage, type DeliveryStore, type OutboxEntry } from '../delivery-store.js';
import { scanLog } from '../delivery-log.js';
import { DEFAULT_PARTITIONS, OUTBOX_GROUP, keySpace, type OutboxKeys } from './keys.js';
import { defineScripts } from './scripts.js';

export interface RedisDeliveryStoreOptions {
  /** commands (a single node or a Cluster); the caller owns it */
  redis: Redis | Cluster;
  /**
   * A connection for blocking stream reads (XREADGROUP BLOCK), which would stall every other
   * command on a shared one. Used with one partition only (a blocking read covers one slot);
   * otherwise, or absent, reads don't block and the outbox polls.
   */
  blocking?: Redis | null;
  prefix?: string;
  /** partitions the outbox is split into, as the inbox (docs/redis-layout.md). @default 16 */
  partitions?: number;
}

/** How long a take that found nothing waits before answering, when it can't block in Redis. */
const POLL_IDLE_MS = 50;
/** Delivery ids whose partition this process has seen, so a record is read from one partition. */
const KNOWN_MAX = 20_000;

/**
 * The outbox on Redis, one per partition (tag {p:N}, where sendNotification.lua queues into it):
 * records in a hash, ready work in one stream per channel with a consumer group. Reads that span
 * the outbox (log, counts, promote, take, reclaim, prune) visit every partition.
 */
export function createRedisDeliveryStore({ redis, blocking = null, prefix = 'ntf:', partitions = DEFAULT_PARTITIONS }: RedisDeliveryStoreOptions): DeliveryStore {
  defineScripts(redis);
  const ks = keySpace(prefix, partitions);
  const outboxes: OutboxKeys[] = Array.from({ length: partitions }, (_, n) => ks.partition(n).outbox);
  const all = <T>(f: (o: OutboxKeys, n: number) => Promise<T>) => Promise.all(outboxes.map((o, n) => f(o, n)));
  const block = blocking && partitions === 1 ? blocking : null;

  const known = new Map<string, number>();
  const remember = (id: string, n: number) => {
    if (known.size >= KNOWN_MAX) known.clear();
    known.set(id, n);
  };

  const groups = new Map<string, Promise<void>>();
  // The group reads from the start of the stream ('0'), so entries queued before it existed count.
  const ensureGroup = (n: number, channel: ExternalChannel) => {
    const key = outboxes[n]!.ready(channel);
    let p = groups.get(key);
    if (!p) {
      p = redis.xgroup('CREATE', key, OUTBOX_GROUP, '0', 'MKSTREAM').then(
        () => undefined,
        (err: Error) => {
          if (!String(err.message).includes('BUSYGROUP')) {
            groups.delete(key);
            throw err;
          }
        },
      );
      groups.set(key, p);
    }
    return p;
  };

  const parse = (raw: string | null | undefined): Delivery | null => (raw ? (JSON.parse(raw) as Delivery) : null);

  /** The partition holding a delivery, or null. */
  async function locate(ids: readonly string[]): Promise<(number | null)[]> {
    const unknown = ids.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      const found = await all((o) => redis.hmget(o.records, ...unknown));
      found.forEach((vals, n) => vals.forEach((v, i) => v && remember(unknown[i]!, n)));
    }
    return ids.map((id) => known.get(id) ?? null);
  }

  async function get(ids: readonly string[]): Promise<(Delivery | null)[]> {
    if (ids.length === 0) return [];
    const where = await locate(ids);
    return Promise.all(ids.map(async (id, i) => (where[i] == null ? null : parse(await redis.hget(outboxes[where[i]!]!.records, id)))));
  }

  // An entry id names its partition: "N:stream id".
  const entries = (n: number, channel: ExternalChannel, flat: unknown): OutboxEntry[] => {
    const out: OutboxEntry[] = [];
    for (const [entryId, fields] of (flat ?? []) as [string, string[] | null][]) {
      // XAUTOCLAIM in Redis < 7 returns deleted entries with nil fields.
      const d = fields ? fields[fields.indexOf('d') + 1] : undefined;
      if (d) {
        remember(d, n);
        out.push({ entryId: `${n}:${entryId}`, deliveryId: d, channel });
      }
    }
    return out;
  };
  const entryOf = (e: OutboxEntry) => {
    const i = e.entryId.indexOf(':');
    return { n: Number(e.entryId.slice(0, i)), streamId: e.entryId.slice(i + 1) };
  };

  const counts = async () => {
    const total: Record<string, number> = {};
    for (const h of await all((o) => redis.hgetall(o.counts))) for (const [k, v] of Object.entries(h)) total[k] = (total[k] ?? 0) + Number(v);
    return total;
  };

  return {
    async setAddress(userId, a) {
      await redis.hset(ks.user(userId).addr, a.channel, JSON.stringify(a));
    },
    async removeAddress(userId, channel) {
      return (await redis.hdel(ks.user(userId).addr, channel)) === 1;
    },
    async addresses(userId) {
      const h = await redis.hgetall(ks.user(userId).addr);
      return EXTERNAL_CHANNELS.flatMap((c) => (h[c] ? [JSON.parse(h[c]) as ChannelAddress] : []));
    },

    get,

    async log(q): Promise<DeliveryLogPage> {
      const onlyFailed = q.status?.length === 1 && q.status[0] === 'FAILED';
      let totalCount: number | null = null;
      // Status and channel filters alone are counted exactly from the counters; a user filter scans.
      if (!q.userId) {
        const c = await counts();
        const statuses = q.status?.length ? q.status : DELIVERY_STATUSES;
        totalCount = statuses.reduce((sum, s) => sum + (c[q.channel ? `${q.channel}:${s}` : s] ?? 0), 0);
      }
      return scanLog(q, totalCount, async (before, n) => {
        // The newest n of every partition, merged: ids sort by creation across partitions.
        const lists = await all((o) => redis.zrevrangebylex(onlyFailed ? o.failed : o.log, before === null ? '+' : `(${before}`, '-', 'LIMIT', 0, n));
        lists.forEach((ids, p) => ids.forEach((id) => remember(id, p)));
        const ids = lists.flat().sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)).slice(0, n);
        return { ids, records: await get(ids) };
      });
    },

    async retry(id, now) {
      const [n] = await locate([id]);
      if (n == null) return 'not_found';
      const o = outboxes[n]!;
      const reply = await redis.retryDelivery(o.records, o.due, o.failed, o.counts, o.purge, id, now);
      return reply === 'not_found' || reply === 'not_failed' ? reply : (JSON.parse(reply) as Delivery);
    },

    async promoteDue(now, limit) {
      const moved = await all((o) => redis.promoteDeliveries(o.due, o.ready('WEBHOOK'), o.ready('TELEGRAM'), o.ready('WECOM'), now, limit));
      return moved.reduce((a, b) => a + Number(b), 0);
    },

    async take(channels, consumer, count, blockMs) {
      if (channels.length === 0) return [];
      await Promise.all(outboxes.flatMap((_, n) => channels.map((c) => ensureGroup(n, c))));
      const read = async (n: number, wait: boolean) => {
        // One partition's streams share its slot, so one read covers them.
        const keys = channels.map((c) => outboxes[n]!.ready(c));
        const args: (string | number)[] = ['GROUP', OUTBOX_GROUP, consumer, 'COUNT', Math.max(1, count)];
        if (wait) args.push('BLOCK', Math.max(1, blockMs));
        args.push('STREAMS', ...keys, ...keys.map(() => '>'));
        const conn = wait ? block! : redis;
        const reply = (await (conn as unknown as { xreadgroup(...a: (string | number)[]): Promise<[string, unknown][] | null> }).xreadgroup(...args)) ?? [];
        return reply.flatMap(([key, flat]) => entries(n, channels[keys.indexOf(key)]!, flat));
      };
      if (block) return read(0, true);
      const got = (await Promise.all(outboxes.map((_, n) => read(n, false)))).flat();
      if (got.length === 0 && blockMs > 0) await new Promise((r) => setTimeout(r, Math.min(blockMs, POLL_IDLE_MS)));
      return got;
    },

    async reclaim(channel, consumer, idleMs, count) {
      const out: OutboxEntry[] = [];
      for (let n = 0; n < partitions && out.length < count; n++) {
        await ensureGroup(n, channel);
        const [, flat] = (await redis.xautoclaim(outboxes[n]!.ready(channel), OUTBOX_GROUP, consumer, idleMs, '0-0', 'COUNT', count - out.length)) as [string, unknown];
        out.push(...entries(n, channel, flat));
      }
      return out;
    },

    async finish(entry, outcome, now) {
      const { n, streamId } = entryOf(entry);
      const o = outboxes[n]!;
      const error = outcome.kind === 'retry' || outcome.kind === 'failed' ? outcome.error : outcome.kind === 'skipped' ? outcome.reason : '';
      const next = outcome.kind === 'retry' || outcome.kind === 'defer' ? outcome.nextAttemptAt : 0;
      const reply = await redis.finishDelivery(
        o.records, o.due, o.ready(entry.channel), o.failed, o.counts, o.purge,
        entry.deliveryId, streamId, OUTBOX_GROUP, now, outcome.kind, error, next,
        outcome.kind === 'retry' ? outcome.maxAttempts : 0, DELIVERY_RETENTION_MS,
      );
      return reply ? (JSON.parse(reply) as Delivery) : null;
    },

    async prune(now, limit = 1000) {
      let total = 0;
      await all(async (o) => {
        for (;;) {
          const n = await redis.pruneDeliveries(o.records, o.purge, o.log, o.failed, o.counts, now, limit);
          total += n;
          if (n < limit) return;
        }
      });
      return total;
    },

    async countByStatus() {
      const c = await counts();
      return Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, c[s] ?? 0])) as Record<DeliveryStatus, number>;
    },
  };
}

import type { Redis } from 'ioredis';
import { DELIVERY_STATUSES, EXTERNAL_CHANNELS, type ChannelAddress, type Delivery, type DeliveryStatus, type ExternalChannel } from '../deliveries.js';
import { DELIVERY_RETENTION_MS, type DeliveryLogPage, type DeliveryStore, type OutboxEntry } from '../delivery-store.js';
import { scanLog } from '../delivery-log.js';
import { DEFAULT_PREFIX } from '../prefix.js';
import { OUTBOX_GROUP, keySpace, outboxKeys } from './keys.js';
import type { RedisClient } from './client.js';
import { defineScripts, script } from './scripts.js';

export interface RedisDeliveryStoreOptions {
  /** commands; the caller owns it */
  redis: RedisClient;
  /**
   * A connection for blocking stream reads (XREADGROUP BLOCK), which would stall every other
   * command on a shared one. Absent: reads don't block (the outbox polls).
   */
  blocking?: Redis | null;
  prefix?: string;
  partitions?: number;
  waitReplicas?: number;
}

/** The outbox on Redis: records in a hash, ready work in one stream per channel with a consumer group. */
export function createRedisDeliveryStore({ redis: client, blocking = null, prefix = DEFAULT_PREFIX }: RedisDeliveryStoreOptions): DeliveryStore {
  const redis = client as Redis;
  defineScripts(redis);
  const keys = keySpace(prefix);
  const outbox = outboxKeys(prefix);
  const groups = new Map<ExternalChannel, Promise<void>>();
  // The group reads from the start of the stream ('0'), so entries queued before it existed count.
  const ensureGroup = (channel: ExternalChannel) => {
    let p = groups.get(channel);
    if (!p) {
      p = redis.xgroup('CREATE', outbox.ready(channel), OUTBOX_GROUP, '0', 'MKSTREAM').then(
        () => undefined,
        (err: Error) => {
          if (!String(err.message).includes('BUSYGROUP')) {
            groups.delete(channel);
            throw err;
          }
        },
      );
      groups.set(channel, p);
    }
    return p;
  };

  const parse = (raw: string | null | undefined): Delivery | null => (raw ? (JSON.parse(raw) as Delivery) : null);
  const get = async (ids: readonly string[]) => (ids.length === 0 ? [] : (await redis.hmget(outbox.records, ...ids)).map(parse));

  const entries = (channel: ExternalChannel, flat: unknown): OutboxEntry[] => {
    const out: OutboxEntry[] = [];
    for (const [entryId, fields] of (flat ?? []) as [string, string[] | null][]) {
      // XAUTOCLAIM in Redis < 7 returns deleted entries with nil fields.
      const d = fields ? fields[fields.indexOf('d') + 1] : undefined;
      if (d) out.push({ entryId, deliveryId: d, channel });
    }
    return out;
  };

  return {
    async setAddress(userId, a) {
      await redis.hset(keys.user(userId).addr, a.channel, JSON.stringify(a));
    },
    async removeAddress(userId, channel) {
      return (await redis.hdel(keys.user(userId).addr, channel)) === 1;
    },
    async addresses(userId) {
      const h = await redis.hgetall(keys.user(userId).addr);
      return EXTERNAL_CHANNELS.flatMap((c) => (h[c] ? [JSON.parse(h[c]) as ChannelAddress] : []));
    },

    get,

    async log(q): Promise<DeliveryLogPage> {
      const onlyFailed = q.status?.length === 1 && q.status[0] === 'FAILED';
      const index = onlyFailed ? outbox.failed : outbox.log;
      let totalCount: number | null = null;
      // Status and channel filters alone are counted exactly from the counters; a user filter scans.
      if (!q.userId) {
        const counts = await redis.hgetall(outbox.counts);
        const statuses = q.status?.length ? q.status : DELIVERY_STATUSES;
        totalCount = statuses.reduce((sum, s) => sum + Number(counts[q.channel ? `${q.channel}:${s}` : s] ?? 0), 0);
      }
      return scanLog(q, totalCount, async (before, n) => {
        const ids = await redis.zrevrangebylex(index, before === null ? '+' : `(${before}`, '-', 'LIMIT', 0, n);
        return { ids, records: await get(ids) };
      });
    },

    async retry(id, now) {
      const { records, due, failed, counts, purge } = outbox;
      const reply = await script(redis, 'retryDelivery', { records, due, failed, counts, purge }, { id, now });
      return reply === 'not_found' || reply === 'not_failed' ? reply : (JSON.parse(reply) as Delivery);
    },

    async promoteDue(now, limit) {
      const ready = { readyWebhook: outbox.ready('WEBHOOK'), readyTelegram: outbox.ready('TELEGRAM'), readyWecom: outbox.ready('WECOM') };
      const [moved, next] = await script(redis, 'promoteDeliveries', [{ due: outbox.due }, ready], { now, limit });
      return { moved: Number(moved), nextDueAt: next === '' ? null : Number(next) };
    },

    async take(channels, consumer, count, blockMs) {
      if (channels.length === 0) return [];
      await Promise.all(channels.map(ensureGroup));
      const conn = blocking ?? redis;
      const streams = channels.map((c) => outbox.ready(c));
      const args: (string | number)[] = ['GROUP', OUTBOX_GROUP, consumer, 'COUNT', Math.max(1, count)];
      if (blocking) args.push('BLOCK', Math.max(1, blockMs));
      args.push('STREAMS', ...streams, ...streams.map(() => '>'));
      const reply = (await (conn as unknown as { xreadgroup(...a: (string | number)[]): Promise<[string, unknown][] | null> }).xreadgroup(...args)) ?? [];
      return reply.flatMap(([key, flat]) => entries(channels[streams.indexOf(key)]!, flat));
    },

    async reclaim(channel, consumer, idleMs, count) {
      await ensureGroup(channel);
      const [, flat] = (await redis.xautoclaim(outbox.ready(channel), OUTBOX_GROUP, consumer, idleMs, '0-0', 'COUNT', count)) as [string, unknown];
      return entries(channel, flat);
    },

    async finish(entry, outcome, now) {
      const error = outcome.kind === 'retry' || outcome.kind === 'failed' ? outcome.error : outcome.kind === 'skipped' ? outcome.reason : '';
      const next = outcome.kind === 'retry' || outcome.kind === 'defer' ? outcome.nextAttemptAt : 0;
      const { records, due, failed, counts, purge } = outbox;
      const reply = await script(redis, 'finishDelivery', { records, due, ready: outbox.ready(entry.channel), failed, counts, purge }, {
        id: entry.deliveryId,
        entryId: entry.entryId,
        group: OUTBOX_GROUP,
        now,
        outcome: outcome.kind,
        error,
        nextAttemptAt: next,
        maxAttempts: outcome.kind === 'retry' ? outcome.maxAttempts : 0,
        retentionMs: DELIVERY_RETENTION_MS,
      });
      return reply ? (JSON.parse(reply) as Delivery) : null;
    },

    async prune(now, limit = 1000) {
      let total = 0;
      for (;;) {
        const { records, purge, log, failed, counts } = outbox;
        const n = await script(redis, 'pruneDeliveries', { records, purge, log, failed, counts }, { now, limit });
        total += n;
        if (n < limit) return total;
      }
    },

    async countByStatus() {
      const counts = await redis.hgetall(outbox.counts);
      return Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, Number(counts[s] ?? 0)])) as Record<DeliveryStatus, number>;
    },
  };
}

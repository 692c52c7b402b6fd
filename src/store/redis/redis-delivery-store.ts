import type { ChainableCommander, Redis } from 'ioredis';
import { DELIVERY_STATUSES, EXTERNAL_CHANNELS, type ChannelAddress, type Delivery, type DeliveryStatus, type ExternalChannel } from '../deliveries.js';
import { DELIVERY_RETENTION_MS, type DeliveryLogPage, type DeliveryStore, type OutboxEntry } from '../delivery-store.js';
import { scanLog } from '../delivery-log.js';
import { DEFAULT_PREFIX } from '../prefix.js';
import { DEFAULT_PARTITIONS } from '../partition.js';
import { OUTBOX_GROUP, keySpace, type PartitionKeys } from './keys.js';
import { redisCommands } from './context.js';
import type { RedisClient } from './client.js';
import { script } from './scripts.js';

/** Without a blocking connection (a Cluster), how long a read that found nothing waits before it answers. */
const IDLE_POLL_MS = 100;

export interface RedisDeliveryStoreOptions {
  /** commands; the caller owns it */
  redis: RedisClient;
  /**
   * A connection for blocking stream reads (XREADGROUP BLOCK), which would stall every other
   * command on a shared one; one node only (a Cluster can't block on streams of many slots).
   * Absent: reads don't block; one that finds nothing waits up to 100 ms before it answers (the outbox polls).
   */
  blocking?: Redis | null;
  prefix?: string;
  /** the store's partition count (partition.ts) @default DEFAULT_PARTITIONS */
  partitions?: number;
  /** replicas every acknowledged write waits for @default 0 */
  waitReplicas?: number;
}

/**
 * The outbox on Redis: one per partition, in the partition's slot (keys.ts). Records in a hash,
 * ready work in one stream per channel with a consumer group; reads visit every partition (one
 * round trip per shard), a delivery's own partition is in its id.
 */
export function createRedisDeliveryStore({ redis, blocking = null, prefix = DEFAULT_PREFIX, partitions = DEFAULT_PARTITIONS, waitReplicas = 0 }: RedisDeliveryStoreOptions): DeliveryStore {
  const keys = keySpace(prefix, partitions);
  const { batch, eachPartition, one } = redisCommands(redis, keys, waitReplicas);
  const allParts = Array.from({ length: partitions }, (_, n) => keys.partition(n));
  const groups = new Map<string, Promise<void>>();
  // The group reads from the start of the stream ('0'), so entries queued before it existed count.
  const ensureGroup = (stream: string) => {
    let p = groups.get(stream);
    if (!p) {
      p = redis.xgroup('CREATE', stream, OUTBOX_GROUP, '0', 'MKSTREAM').then(
        () => undefined,
        (err: Error) => {
          if (!String(err.message).includes('BUSYGROUP')) {
            groups.delete(stream);
            throw err;
          }
        },
      );
      groups.set(stream, p);
    }
    return p;
  };

  const parse = (raw: string | null | undefined): Delivery | null => (raw ? (JSON.parse(raw) as Delivery) : null);
  const get = async (ids: readonly string[]) => {
    // Each id's partition, read from the id once; a malformed id is found nowhere.
    const known = ids.flatMap((id) => {
      const p = keys.partitionOfDelivery(id);
      return p ? [{ id, p }] : [];
    });
    const raw = (await batch(known, ({ p }) => p.partition, (on, { id, p }) => on.hget(p.outbox.records, id))) as (string | null)[];
    const byId = new Map(known.map(({ id }, i) => [id, parse(raw[i])]));
    return ids.map((id) => byId.get(id) ?? null);
  };
  const sumCounts = async () => {
    const total: Record<string, number> = {};
    for (const h of (await eachPartition((on, p) => on.hgetall(p.outbox.counts))) as Record<string, string>[]) {
      for (const [k, n] of Object.entries(h)) total[k] = (total[k] ?? 0) + Number(n);
    }
    return total;
  };

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
      await one((on) => on.hset(keys.user(userId).addr, a.channel, JSON.stringify(a)), true);
    },
    async removeAddress(userId, channel) {
      return (await one<number>((on) => on.hdel(keys.user(userId).addr, channel), true)) === 1;
    },
    async addresses(userId) {
      const h = await redis.hgetall(keys.user(userId).addr);
      return EXTERNAL_CHANNELS.flatMap((c) => (h[c] ? [JSON.parse(h[c]) as ChannelAddress] : []));
    },

    get,

    async log(q): Promise<DeliveryLogPage> {
      const onlyFailed = q.status?.length === 1 && q.status[0] === 'FAILED';
      // A user's deliveries are all in the user's partition.
      const parts = q.userId ? [keys.partitionOf(q.userId)] : allParts;
      let totalCount: number | null = null;
      // Status and channel filters alone are counted exactly from the counters; a user filter scans.
      if (!q.userId) {
        const counts = await sumCounts();
        const statuses = q.status?.length ? q.status : DELIVERY_STATUSES;
        totalCount = statuses.reduce((sum, s) => sum + (counts[q.channel ? `${q.channel}:${s}` : s] ?? 0), 0);
      }
      return scanLog(q, totalCount, async (before, n) => {
        // The n newest of each partition's index, merged: ids are fixed-width, so string order is id order.
        const each = (await batch(parts, (p) => p.partition, (on, p) =>
          on.zrevrangebylex(onlyFailed ? p.outbox.failed : p.outbox.log, before === null ? '+' : `(${before}`, '-', 'LIMIT', 0, n),
        )) as string[][];
        const ids = each.flat().sort().reverse().slice(0, n);
        return { ids, records: await get(ids) };
      });
    },

    async retry(id, now) {
      const p = keys.partitionOfDelivery(id);
      if (!p) return 'not_found';
      const { records, due, failed, counts, purge } = p.outbox;
      const reply = await one<string>((on) => script(on, 'retryDelivery', { records, due, failed, counts, purge }, { id, now }), true);
      return reply === 'not_found' || reply === 'not_failed' ? reply : (JSON.parse(reply) as Delivery);
    },

    async promoteDue(now, limit) {
      const replies = (await eachPartition(
        (on, p) => script(on, 'promoteDeliveries', [{ due: p.outbox.due }, readyKeys(p)], { now, limit }),
        true,
      )) as [number, string][];
      let moved = 0;
      let nextDueAt: number | null = null;
      for (const [m, next] of replies) {
        moved += Number(m);
        if (next !== '' && (nextDueAt === null || Number(next) < nextDueAt)) nextDueAt = Number(next);
      }
      return { moved, nextDueAt };
    },

    async take(channels, consumer, count, blockMs) {
      if (channels.length === 0) return [];
      const streamsOf = (p: PartitionKeys) => channels.map((c) => p.outbox.ready(c));
      await Promise.all(allParts.flatMap((p) => streamsOf(p).map(ensureGroup)));
      const read = (on: ChainableCommander | Redis, streams: string[], n: number, block: number | null) => {
        const args: (string | number)[] = ['GROUP', OUTBOX_GROUP, consumer, 'COUNT', Math.max(1, n)];
        if (block !== null) args.push('BLOCK', Math.max(1, block));
        args.push('STREAMS', ...streams, ...streams.map(() => '>'));
        return (on as unknown as { xreadgroup(...a: (string | number)[]): Promise<[string, unknown][] | null> }).xreadgroup(...args);
      };
      const replies: ([string, unknown][] | null)[] = blocking
        ? // One node: one blocking read over every partition's streams.
          [await read(blocking, allParts.flatMap(streamsOf), count, blockMs)]
        : // The partitions share the count, so one read doesn't take far more than asked.
          ((await eachPartition((on, p) => read(on, streamsOf(p), Math.ceil(count / partitions), null))) as ([string, unknown][] | null)[]);
      const channelOf = (stream: string) => channels.find((c) => stream.endsWith(`:ready:${c}`))!;
      const taken = replies.flatMap((reply) => (reply ?? []).flatMap(([key, flat]) => entries(channelOf(key), flat)));
      // Without a blocking read, an idle caller would read again at once, round after round:
      // it waits a poll interval instead (within blockMs).
      if (!blocking && taken.length === 0 && blockMs > 0) await new Promise((r) => setTimeout(r, Math.min(blockMs, IDLE_POLL_MS)));
      return taken;
    },

    async reclaim(channel, consumer, idleMs, count) {
      await Promise.all(allParts.map((p) => ensureGroup(p.outbox.ready(channel))));
      const replies = (await eachPartition((on, p) =>
        on.xautoclaim(p.outbox.ready(channel), OUTBOX_GROUP, consumer, idleMs, '0-0', 'COUNT', Math.ceil(count / partitions)),
      )) as [string, unknown][];
      return replies.flatMap(([, flat]) => entries(channel, flat));
    },

    async finish(entry, outcome, now) {
      const p = keys.partitionOfDelivery(entry.deliveryId);
      if (!p) return null;
      const error = outcome.kind === 'retry' || outcome.kind === 'failed' ? outcome.error : outcome.kind === 'skipped' ? outcome.reason : '';
      const next = outcome.kind === 'retry' || outcome.kind === 'defer' ? outcome.nextAttemptAt : 0;
      const { records, due, failed, counts, purge } = p.outbox;
      const reply = await one<string | null>(
        (on) =>
          script(on, 'finishDelivery', { records, due, ready: p.outbox.ready(entry.channel), failed, counts, purge }, {
            id: entry.deliveryId,
            entryId: entry.entryId,
            group: OUTBOX_GROUP,
            now,
            outcome: outcome.kind,
            error,
            nextAttemptAt: next,
            maxAttempts: outcome.kind === 'retry' ? outcome.maxAttempts : 0,
            retentionMs: DELIVERY_RETENTION_MS,
          }),
        true,
      );
      return reply ? (JSON.parse(reply) as Delivery) : null;
    },

    async prune(now, limit = 1000) {
      let total = 0;
      for (const p of allParts) {
        const { records, purge, log, failed, counts } = p.outbox;
        for (;;) {
          const n = await script(redis, 'pruneDeliveries', { records, purge, log, failed, counts }, { now, limit });
          total += n;
          if (n < limit) break;
        }
      }
      return total;
    },

    async countByStatus() {
      const counts = await sumCounts();
      return Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, counts[s] ?? 0])) as Record<DeliveryStatus, number>;
    },
  };
}

const readyKeys = (p: PartitionKeys) => ({
  readyWebhook: p.outbox.ready('WEBHOOK'),
  readyTelegram: p.outbox.ready('TELEGRAM'),
  readyWecom: p.outbox.ready('WECOM'),
});

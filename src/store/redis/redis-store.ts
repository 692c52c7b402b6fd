import { randomBytes } from 'node:crypto';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { decodeSeq } from '../../notifications/ids.js';
import { priorityRank, type NotificationTypePolicy, type Template } from '../../notifications/types.js';
import { resumeComplete, statsDay, type ClaimedSend, type ScheduledSend, type Store } from '../store.js';
import { decodeItems, decodeUser, encodeContent } from '../codec.js';
import { channels as channelNames } from '../../realtime/channels.js';
import { SKIP } from '../../notifications/deliveries.js';
import { DELIVERY_RETENTION_MS } from '../delivery-store.js';
import { DEFAULT_PARTITIONS, STATS_TTL_MS, keySpace, schedulerKeys, userScriptKeys } from './keys.js';
import { defineScripts } from './scripts.js';

/** Spliced into the sync event's JSON by inboxSnapshot.lua. */
const SYNC_TOKEN = /^[0-9a-z]{1,32}$/;

/** How long a send request's results answer a resend (ioredis replays after a reconnect). */
export const REQUEST_RESULT_MS = 10 * 60 * 1000;
/** How long a write waits for its replicas (REDIS_WAIT_REPLICAS) before the mutation fails. */
export const WAIT_TIMEOUT_MS = 2000;

export interface RedisStoreOptions {
  /** A connection the caller owns (a single node or a Cluster); the store never closes it. */
  redis: Redis | Cluster;
  /** Newest items kept per inbox. */
  cap: number;
  /** Key prefix, so tests and tenants can share a server. @default "ntf:" */
  prefix?: string;
  /** Partitions users are spread over (docs/redis-layout.md). @default 16 */
  partitions?: number;
  /** Replicas each acknowledged write must reach (WAIT, on the same node) before it answers. @default 0 */
  waitReplicas?: number;
}

/**
 * The Redis store: every multi-key change is one Lua script (src/store/redis/lua), every key
 * comes from keys.ts. A broadcast costs one script call whatever its audience.
 */
export function createRedisStore({ redis, cap, prefix = 'ntf:', partitions = DEFAULT_PARTITIONS, waitReplicas = 0 }: RedisStoreOptions): Store {
  defineScripts(redis);
  const ks = keySpace(prefix, partitions);
  const ch = channelNames(prefix, partitions);
  const g = ks.global;
  const u = (userId: string, now: number) => [...userScriptKeys(ks, userId), now, cap, userId, ch.user(userId)];
  const sk = schedulerKeys(prefix);
  const parts = Array.from({ length: partitions }, (_, n) => ks.partition(n));
  const cluster = (redis as { isCluster?: boolean }).isCluster === true;
  const direct = redis as unknown as ChainableCommander;

  const unwrap = (results: [Error | null, unknown][] | null) =>
    (results ?? []).map(([err, v]) => {
      if (err) throw err;
      return v;
    });
  /** WAIT's reply: fewer replicas than asked means the write may not survive a failover. */
  const checkWait = (acked: unknown) => {
    if (Number(acked) < waitReplicas) throw new Error(`write reached ${Number(acked)} of ${waitReplicas} replicas within ${WAIT_TIMEOUT_MS} ms`);
  };

  /**
   * One command per item in one round trip per node, replies in item order (errors thrown).
   * Single node: one pipeline (a single item goes straight to the connection: building a
   * pipeline costs ~50 µs, more than the command). Cluster: the items' slots may sit on several
   * shards, so each goes on its own and the client's auto-pipelining batches them per node.
   * `write`: with REDIS_WAIT_REPLICAS, a WAIT follows on the same node before anything answers.
   */
  async function oneTrip<I>(items: readonly I[], add: (c: ChainableCommander, item: I) => unknown, write = false): Promise<unknown[]> {
    if (items.length === 0) return [];
    const wait = write && waitReplicas > 0;
    if (cluster) {
      if (!wait) return Promise.all(items.map((item) => add(direct, item) as Promise<unknown>));
      return Promise.all(
        items.map(async (item) => {
          const p = redis.pipeline();
          add(p, item);
          const [v, acked] = unwrap(await p.wait(waitReplicas, WAIT_TIMEOUT_MS).exec());
          checkWait(acked);
          return v;
        }),
      );
    }
    if (items.length === 1 && !wait) return [await (add(direct, items[0]!) as Promise<unknown>)];
    const p = redis.pipeline();
    for (const item of items) add(p, item);
    if (wait) p.wait(waitReplicas, WAIT_TIMEOUT_MS);
    const replies = unwrap(await p.exec());
    if (wait) checkWait(replies.pop());
    return replies;
  }
  /** One write command (see oneTrip). */
  const write = async <T>(add: (c: ChainableCommander) => unknown): Promise<T> => (await oneTrip([0], (c) => add(c), true))[0] as T;
  /** The same read or write on every partition, replies in partition order. */
  const eachPartition = <T>(add: (c: ChainableCommander, n: number) => unknown, isWrite = false) =>
    oneTrip(parts.map((_, n) => n), add, isWrite) as Promise<T[]>;

  const store: Store = {
    kind: 'redis',

    async ensureUser(userId, now) {
      await write((c) => c.ensureUser(...u(userId, now)));
    },

    async upsertUser(userId, patch, now) {
      const nameMode = patch.displayName === undefined ? '' : patch.displayName === null ? 'clear' : 'set';
      const active = patch.active === undefined ? '' : patch.active ? '1' : '0';
      const reply = await write<string[]>((c) => c.upsertUser(...u(userId, now), nameMode, patch.displayName ?? '', active));
      return decodeUser(userId, reply)!;
    },

    async getUsers(userIds) {
      const replies = await oneTrip(userIds, (c, id) => c.hgetall(ks.user(id).user));
      return userIds.map((id, i) => decodeUser(id, replies[i] as Record<string, string>));
    },

    async updatePreferences(userId, patch, now) {
      const muted = patch.mutedTypes ? JSON.stringify([...new Set(patch.mutedTypes)]) : '';
      const channels = patch.channels ? JSON.stringify(patch.channels) : '';
      return decodeUser(userId, await write<string[]>((c) => c.updatePreferences(...u(userId, now), muted, channels)))!;
    },

    countActiveUsers: async () => sum(await eachPartition<number>((c, n) => c.zcard(parts[n]!.active))),

    async send(userIds, item, now) {
      const { rank, json } = encodeContent(item.content);
      const dedupUntil = now + item.dedupWindowMs;
      const day = statsDay(now);
      const channels = item.channels?.length ? [...new Set(item.channels)].join(',') : '';
      // Each call is one request: a resend of it (ioredis, after a reconnect) answers from its results.
      const requestId = randomBytes(12).toString('base64url');
      // One atomic script per user, each in the user's partition (one slot), one round trip per node.
      const replies = await oneTrip(
        userIds.map((id, i) => [id, i] as const),
        (c, [id, i]) => {
          const p = ks.partition(ks.partitionOf(id));
          const o = p.outbox;
          return c.sendNotification(
            ...userScriptKeys(ks, id), p.stats(day), ks.user(id).addr,
            o.records, o.due, o.log, o.counts, o.purge, o.ready('WEBHOOK'), o.ready('TELEGRAM'), o.ready('WECOM'), p.req(requestId),
            now, cap, id, ch.user(id),
            item.content.type, rank, json, item.content.expiresAt, item.dedupKey ?? '', dedupUntil, STATS_TTL_MS,
            item.deliveryMark?.key ?? '', item.deliveryMark?.until ?? 0,
            channels, item.escalateAfterMs ?? 0, DELIVERY_RETENTION_MS, SKIP.optedOut, SKIP.noAddress, REQUEST_RESULT_MS, i,
          );
        },
        true,
      );
      return userIds.map((userId, i) => {
        const [status, id] = replies[i] as string[];
        // 'again': a scheduled send delivered before (its mark is there): nothing changed.
        if (status === 'dedup' || status === 'again') return { userId, status: 'deduplicated' as const };
        if (status === 'muted') return { userId, status: 'muted' as const };
        return { userId, status: 'stored' as const, notification: { ...item.content, id: id!, userId, data: item.content.data ?? null, readAt: null, broadcastId: null } };
      });
    },

    async broadcast(item, now) {
      const content = { ...item.content, broadcast: true as const };
      const { rank, json } = encodeContent(content);
      const day = statsDay(now);
      // The global step (id, dedup), then each partition's share: P writes whatever the audience.
      const [id, dedup] = await write<[string, number]>((c) => c.broadcastBegin(g.seq, g.bdedup, now, item.dedupKey ?? '', now + item.dedupWindowMs));
      const shares = await eachPartition<[number, number, number]>((c, n) => {
        const p = parts[n]!;
        return c.broadcastPart(
          p.seq, p.blog, p.bdrop, p.bcast, p.bexp, p.maxexp, p.active, p.mutecount, p.stats(day),
          now, content.type, rank, json, content.expiresAt, item.saveOffline ? '1' : '0', ch.partitionBroadcasts(n), STATS_TTL_MS, id, Number(dedup) === 1 ? '1' : '0', decodeSeq(id)!,
        );
      }, true);
      const total = (i: 0 | 1 | 2) => sum(shares.map((r) => Number(r[i])));
      const [recipients, deduplicated, muted] = [total(0), total(1), total(2)];
      return {
        id,
        type: content.type,
        title: content.title,
        createdAt: now,
        saveOffline: item.saveOffline,
        recipients: Number(recipients),
        deduplicated: Number(deduplicated),
        muted: Number(muted),
      };
    },

    async list(userId, q, now) {
      const f = q.filter ?? {};
      const after = q.after ? decodeSeq(q.after) : null;
      const reply = await redis.listNotifications(
        ...u(userId, now),
        q.first,
        after ?? '',
        f.unreadOnly ? '1' : '0',
        f.types ? JSON.stringify(f.types) : '',
        f.minPriority ? priorityRank(f.minPriority) : '',
      );
      return {
        totalCount: Number(reply[0]),
        unreadCount: Number(reply[1]),
        hasNextPage: Number(reply[2]) === 1,
        hasPreviousPage: Number(reply[3]) === 1,
        items: decodeItems(userId, reply, 4),
      };
    },

    async since(userId, after, now) {
      const seq = decodeSeq(after);
      if (seq === null) return [];
      return decodeItems(userId, await redis.listSince(...u(userId, now), seq));
    },

    async inboxSnapshot(userId, after, token, now) {
      if (!SYNC_TOKEN.test(token)) throw new Error(`inboxSnapshot: token must match ${SYNC_TOKEN}`);
      const seq = after === null ? null : decodeSeq(after);
      const reply = await redis.inboxSnapshot(...u(userId, now), seq ?? '', token);
      const rmid = String(reply[1]);
      return {
        unreadCount: Number(reply[0]),
        items: seq === null ? [] : decodeItems(userId, reply, 3),
        complete: resumeComplete(after, rmid === '' ? 0 : (decodeSeq(rmid) ?? Infinity), Number(reply[2])),
      };
    },

    async sweepExpired(now, limit, leaseMs = 3000) {
      // Earliest first across partitions: peek each one's earliest due users, then lease the
      // `limit` earliest in their partitions (claimDue.lua: atomic, so racing sweepers split them).
      const peeks = await eachPartition<string[]>((c, n) => c.zrangebyscore(parts[n]!.due, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit));
      const due = peeks.flatMap((flat, n) => Array.from({ length: flat.length / 2 }, (_, i) => ({ n, at: Number(flat[2 * i + 1]) })));
      const take = new Map<number, number>();
      for (const d of due.sort((a, b) => a.at - b.at).slice(0, limit)) take.set(d.n, (take.get(d.n) ?? 0) + 1);
      const claims = [...take];
      const users = (await oneTrip(claims, (c, [n, k]) => c.claimDue(parts[n]!.due, now, k, now + leaseMs), true)).flat() as string[];
      await oneTrip(users, (c, id) => c.pruneUser(...u(id, now)), true);
      return users.length;
    },

    async unreadCounts(userIds, now) {
      return (await oneTrip(userIds, (c, id) => c.unreadCount(...u(id, now)))).map(Number);
    },

    async get(userId, ids, now) {
      if (ids.length === 0) return [];
      const found = decodeItems(userId, await redis.getNotifications(...u(userId, now), ...ids));
      const byId = new Map(found.map((n) => [n.id, n]));
      return ids.map((id) => byId.get(id) ?? null);
    },

    async markRead(userId, ids, now) {
      if (ids.length === 0) return [];
      return decodeItems(userId, await write<string[]>((c) => c.markRead(...u(userId, now), '1', ...ids)));
    },

    async markUnread(userId, ids, now) {
      if (ids.length === 0) return [];
      return decodeItems(userId, await write<string[]>((c) => c.markRead(...u(userId, now), '0', ...ids)));
    },

    markAllRead: (userId, now) => write<number>((c) => c.markAllRead(...u(userId, now))),

    async delete(userId, ids, now) {
      if (ids.length === 0) return 0;
      return write<number>((c) => c.deleteNotifications(...u(userId, now), ...ids));
    },

    async pruneExpired(now, batch = 500) {
      await eachPartition((c, n) => c.pruneBroadcasts(parts[n]!.blog, parts[n]!.bdrop, parts[n]!.bcast, parts[n]!.bexp, parts[n]!.maxexp, now), true);
      await redis.zremrangebyscore(g.bdedup, '-inf', now);
      let visited = 0;
      // Each visit moves the user's due score past `now` or removes it, so this terminates.
      for (;;) {
        const users = (await eachPartition<string[]>((c, n) => c.zrangebyscore(parts[n]!.due, '-inf', now, 'LIMIT', 0, batch))).flat();
        if (users.length === 0) return visited;
        await oneTrip(users, (c, id) => c.pruneUser(...u(id, now)), true);
        visited += users.length;
      }
    },

    async schedule(send, _now) {
      return write<string>((c) => c.scheduleSend(g.seq, sk.sched, sk.schedbody, send.sendAt, JSON.stringify(send)));
    },

    async claimScheduled(now, limit, leaseMs) {
      const flat = await redis.claimScheduled(sk.sched, sk.schedbody, now, limit, now + leaseMs);
      const out: ClaimedSend[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ ...(JSON.parse(flat[i + 1]!) as ScheduledSend), id: flat[i]! });
      return out;
    },

    async completeScheduled(id) {
      await redis.multi().zrem(sk.sched, id).hdel(sk.schedbody, id).exec();
    },

    async nextScheduledAt() {
      const [, score] = await redis.zrange(sk.sched, '0', '0', 'WITHSCORES');
      return score === undefined ? null : Number(score);
    },

    async beginJobRun(name, run) {
      const k = sk.job(name);
      return redis.beginJobRun(k.lock, k.status, run.token, Math.max(1, Math.round(run.ttlMs)), run.slot ?? '');
    },

    async endJobRun(name, run) {
      const k = sk.job(name);
      await redis.endJobRun(k.lock, k.status, run.token, run.startedAt, run.status);
    },

    async jobStatuses(names) {
      const replies = await oneTrip(names, (c, name) => c.hmget(sk.job(name).status, 'lastRunAt', 'lastStatus'));
      return names.map((_, i) => {
        const [at, status] = (replies[i] as (string | null)[] | null) ?? [null, null];
        return { lastRunAt: at == null ? null : Number(at), lastStatus: status ?? null };
      });
    },

    async getPolicies() {
      const h = await redis.hgetall(g.policies);
      return Object.values(h).map((v) => JSON.parse(v) as NotificationTypePolicy);
    },

    async setPolicy(policy) {
      await redis.hset(g.policies, policy.type, JSON.stringify(policy));
    },

    async getTemplates() {
      const h = await redis.hgetall(g.templates);
      return Object.values(h).map((v) => JSON.parse(v) as Template);
    },

    async upsertTemplate(t) {
      await redis.hset(g.templates, t.name, JSON.stringify(t));
    },

    async dailyStats(now) {
      const day = statsDay(now);
      const byType: Record<string, number> = {};
      let sent = 0;
      let deduplicated = 0;
      for (const h of await eachPartition<Record<string, string>>((c, n) => c.hgetall(parts[n]!.stats(day)))) {
        for (const [field, n] of Object.entries(h)) {
          if (field.startsWith('type:')) byType[field.slice(5)] = (byType[field.slice(5)] ?? 0) + Number(n);
        }
        sent += Number(h.sent ?? 0);
        deduplicated += Number(h.dedup ?? 0);
      }
      return { day, sent, deduplicated, byType };
    },

    async usedMemoryBytes() {
      // A Cluster answers for one node; the figure is that node's (the dashboard's gauge).
      const m = /^used_memory:(\d+)\s*$/m.exec(String(await redis.info('memory')));
      return m ? Number(m[1]) : null;
    },

    async ping() {
      try {
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
  };
  return store;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + Number(b), 0);

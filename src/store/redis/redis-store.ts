import type { ChainableCommander, Redis } from 'ioredis';
import { decodeSeq, encodeSeq } from '../ids.js';
import { priorityRank, type NotificationTypePolicy, type Template } from '../types.js';
import { resumeComplete, statsDay, type ClaimedSend, type ScheduledSend, type Store } from '../store.js';
import { decodeItems, decodeUser, encodeContent } from '../codec.js';
import type { StoreChannels } from '../events.js';
import { SKIP } from '../deliveries.js';
import { DELIVERY_RETENTION_MS } from '../delivery-store.js';
import { STATS_TTL_MS, keySpace, outboxKeys, schedulerKeys, statsKey, userScriptKeys } from './keys.js';
import { defineScripts } from './scripts.js';

/** Spliced into the sync event's JSON by inboxSnapshot.lua. */
const SYNC_TOKEN = /^[0-9a-z]{1,32}$/;

export interface RedisStoreOptions {
  /** A connection the caller owns; the store never closes it. */
  redis: Redis;
  /** Newest items kept per inbox. */
  cap: number;
  /** Key prefix, so tests and tenants can share a server. @default "ntf:" */
  prefix?: string;
  /** Where the scripts publish what they commit (realtime/channels.ts names them, with the same prefix). */
  channels: StoreChannels;
}

/**
 * The Redis store: every multi-key change is one Lua script (src/store/redis/lua), every key
 * comes from keys.ts. A broadcast costs one script call whatever its audience.
 */
export function createRedisStore({ redis, cap, prefix = 'ntf:', channels: ch }: RedisStoreOptions): Store {
  defineScripts(redis);
  const ks = keySpace(prefix);
  const g = ks.global;
  const u = (userId: string, now: number) => [...userScriptKeys(ks, userId), now, cap, userId, ch.user(userId)];
  const sk = schedulerKeys(prefix);
  const ok = outboxKeys(prefix);
  const outboxSendKeys = [ok.records, ok.due, ok.log, ok.counts, ok.purge, ok.ready('WEBHOOK'), ok.ready('TELEGRAM'), ok.ready('WECOM')];

  /**
   * One command per item in one round trip, replies in item order (errors thrown). A single
   * item goes straight to the connection: building a pipeline costs ~50 µs, more than the
   * command, and one-item batches are the hot path (a subscription's user, a per-user send).
   */
  async function oneTrip<I>(items: readonly I[], add: (c: ChainableCommander, item: I) => unknown): Promise<unknown[]> {
    if (items.length === 0) return [];
    if (items.length === 1) return [await (add(redis as unknown as ChainableCommander, items[0]!) as Promise<unknown>)];
    const p = redis.pipeline();
    for (const item of items) add(p, item);
    return ((await p.exec()) ?? []).map(([err, v]) => {
      if (err) throw err;
      return v;
    });
  }

  const store: Store = {
    kind: 'redis',

    async ensureUser(userId, now) {
      await redis.ensureUser(...u(userId, now));
    },

    async upsertUser(userId, patch, now) {
      const nameMode = patch.displayName === undefined ? '' : patch.displayName === null ? 'clear' : 'set';
      const active = patch.active === undefined ? '' : patch.active ? '1' : '0';
      const reply = await redis.upsertUser(...u(userId, now), nameMode, patch.displayName ?? '', active);
      return decodeUser(userId, reply)!;
    },

    async getUsers(userIds) {
      const replies = await oneTrip(userIds, (c, id) => c.hgetall(ks.user(id).user));
      return userIds.map((id, i) => decodeUser(id, replies[i] as Record<string, string>));
    },

    async updatePreferences(userId, patch, now) {
      const muted = patch.mutedTypes ? JSON.stringify([...new Set(patch.mutedTypes)]) : '';
      const channels = patch.channels ? JSON.stringify(patch.channels) : '';
      return decodeUser(userId, await redis.updatePreferences(...u(userId, now), muted, channels))!;
    },

    countActiveUsers: () => redis.zcard(g.active),

    async send(userIds, item, now) {
      const { rank, json } = encodeContent(item.content);
      const dedupUntil = now + item.dedupWindowMs;
      const stats = statsKey(prefix, statsDay(now));
      const channels = item.channels?.length ? [...new Set(item.channels)].join(',') : '';
      // One atomic script per user, all in one round trip, not one per user.
      const replies = await oneTrip(userIds, (c, id) =>
        c.sendNotification(
          ...userScriptKeys(ks, id), stats, ks.user(id).addr, ...outboxSendKeys, g.epoch, now, cap, id, ch.user(id),
          item.content.type, rank, json, item.content.expiresAt, item.dedupKey ?? '', dedupUntil, STATS_TTL_MS,
          item.deliveryMark?.key ?? '', item.deliveryMark?.until ?? 0,
          channels, item.escalateAfterMs ?? 0, DELIVERY_RETENTION_MS, SKIP.optedOut, SKIP.noAddress,
        ),
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
      const [id, recipients, deduplicated, muted] = await redis.broadcast(
        g.seq, g.blog, g.bdrop, g.bcast, g.bexp, g.bdedup, g.maxexp, g.active, g.mutecount, statsKey(prefix, statsDay(now)), g.epoch,
        now, content.type, rank, json, content.expiresAt, item.dedupKey ?? '', now + item.dedupWindowMs, item.saveOffline ? '1' : '0', ch.broadcasts,
        STATS_TTL_MS,
      );
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
      const reply = await redis.inboxSnapshot(...userScriptKeys(ks, userId), g.epoch, now, cap, userId, ch.user(userId), seq ?? '', token);
      const rmid = String(reply[1]);
      return {
        unreadCount: Number(reply[0]),
        items: seq === null ? [] : decodeItems(userId, reply, 4),
        complete: resumeComplete(after, rmid === '' ? 0 : (decodeSeq(rmid) ?? Infinity), Number(reply[2]), Number(reply[3])),
        lastId: encodeSeq(Number(reply[2])),
      };
    },

    async sweepExpired(now, limit, leaseMs = 3000) {
      const users = await redis.claimDue(g.due, now, limit, now + leaseMs);
      await oneTrip(users, (c, id) => c.pruneUser(...u(id, now)));
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
      return decodeItems(userId, await redis.markRead(...u(userId, now), '1', ...ids));
    },

    async markUnread(userId, ids, now) {
      if (ids.length === 0) return [];
      return decodeItems(userId, await redis.markRead(...u(userId, now), '0', ...ids));
    },

    markAllRead: (userId, now) => redis.markAllRead(...u(userId, now)),

    async delete(userId, ids, now) {
      if (ids.length === 0) return 0;
      return redis.deleteNotifications(...u(userId, now), ...ids);
    },

    async pruneExpired(now, batch = 500) {
      await redis.pruneBroadcasts(g.blog, g.bdrop, g.bcast, g.bexp, g.bdedup, g.maxexp, now);
      let visited = 0;
      // Each visit moves the user's due score past `now` or removes it, so this terminates.
      for (;;) {
        const users = await redis.zrangebyscore(g.due, '-inf', now, 'LIMIT', 0, batch);
        if (users.length === 0) return visited;
        await oneTrip(users, (c, id) => c.pruneUser(...u(id, now)));
        visited += users.length;
      }
    },

    async schedule(send, _now) {
      return redis.scheduleSend(g.seq, sk.sched, sk.schedbody, g.epoch, send.sendAt, JSON.stringify(send));
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
      const h = await redis.hgetall(statsKey(prefix, day));
      const byType: Record<string, number> = {};
      for (const [field, n] of Object.entries(h)) if (field.startsWith('type:')) byType[field.slice(5)] = Number(n);
      return { day, sent: Number(h.sent ?? 0), deduplicated: Number(h.dedup ?? 0), byType };
    },

    async usedMemoryBytes() {
      const m = /^used_memory:(\d+)\s*$/m.exec(String(await redis.info('memory')));
      return m ? Number(m[1]) : null;
    },

    async epoch() {
      return Number(await redis.epoch(g.seq, g.epoch));
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

import { statsDay } from '../admin-store.js';
import { decodeItems, encodeContent } from '../codec.js';
import { SKIP } from '../deliveries.js';
import { DELIVERY_RETENTION_MS } from '../delivery-store.js';
import { decodeSeq, encodeSeq } from '../ids.js';
import { resumeComplete, type InboxStore } from '../inbox-store.js';
import { priorityRank } from '../types.js';
import type { RedisContext } from './context.js';
import { STATS_TTL_MS, outboxKeys, statsKey } from './keys.js';
import { NONE, script } from './scripts.js';

/** Spliced into the sync event's JSON by inboxSnapshot.lua. */
const SYNC_TOKEN = /^[0-9a-z]{1,32}$/;

/**
 * Inboxes on Redis: every change is one per-user script (src/store/redis/lua); a broadcast is
 * one script call whatever its audience, settled into each inbox when its user is next touched.
 */
export function createRedisInboxStore({ redis, prefix, keys, channels, userKeys, userArgv, oneTrip }: RedisContext): InboxStore {
  const global = keys.global;
  const outbox = outboxKeys(prefix);
  const outboxSendKeys = {
    records: outbox.records,
    outboxDue: outbox.due,
    log: outbox.log,
    counts: outbox.counts,
    purge: outbox.purge,
    readyWebhook: outbox.ready('WEBHOOK'),
    readyTelegram: outbox.ready('TELEGRAM'),
    readyWecom: outbox.ready('WECOM'),
  };
  /** Settles the users and drops what expired (pruneUser.lua), all in one round trip. */
  const pruneUsers = (userIds: readonly string[], now: number) =>
    oneTrip(userIds, (on, id) => script(on, 'pruneUser', userKeys(id), userArgv(id, now)));

  return {
    async send(userIds, item, now) {
      const { rank, json } = encodeContent(item.content);
      const stats = statsKey(prefix, statsDay(now));
      const argv = {
        type: item.content.type,
        rank,
        json,
        expiresAt: item.content.expiresAt,
        dedupKey: item.dedupKey ?? '',
        dedupUntil: now + item.dedupWindowMs,
        statsTtlMs: STATS_TTL_MS,
        markKey: item.deliveryMark?.key ?? '',
        markUntil: item.deliveryMark?.until ?? 0,
        channels: item.channels?.length ? [...new Set(item.channels)].join(',') : '',
        escalateAfterMs: item.escalateAfterMs ?? 0,
        retentionMs: DELIVERY_RETENTION_MS,
        optedOutReason: SKIP.optedOut,
        noAddressReason: SKIP.noAddress,
      };
      // One atomic script per user, all in one round trip, not one per user.
      const replies = await oneTrip(userIds, (on, id) =>
        script(
          on,
          'sendNotification',
          [keys.user(id), global, { stats }, outboxSendKeys],
          [userArgv(id, now), argv],
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
      const { seq, blog, bdrop, bcast, bexp, bdedup, maxexp, active, mutecount, epoch } = global;
      const [id, recipients, deduplicated, muted] = await script(
        redis,
        'broadcast',
        { seq, blog, bdrop, bcast, bexp, bdedup, maxexp, active, mutecount, stats: statsKey(prefix, statsDay(now)), epoch },
        {
          now,
          type: content.type,
          rank,
          json,
          expiresAt: content.expiresAt,
          dedupKey: item.dedupKey ?? '',
          dedupUntil: now + item.dedupWindowMs,
          saveOffline: item.saveOffline ? '1' : '0',
          channel: channels.broadcasts(0),
          statsTtlMs: STATS_TTL_MS,
        },
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

    async list(userId, query, now) {
      const filter = query.filter ?? {};
      const reply = await script(redis, 'listNotifications', userKeys(userId), [
        userArgv(userId, now),
        {
          first: query.first,
          after: (query.after ? decodeSeq(query.after) : null) ?? NONE,
          unreadOnly: filter.unreadOnly ? '1' : '0',
          types: filter.types ? JSON.stringify(filter.types) : '',
          minRank: filter.minPriority ? priorityRank(filter.minPriority) : NONE,
        },
      ]);
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
      return decodeItems(userId, await script(redis, 'listSince', userKeys(userId), [userArgv(userId, now), { after: seq }]));
    },

    async inboxSnapshot(userId, after, token, now) {
      if (!SYNC_TOKEN.test(token)) throw new Error(`inboxSnapshot: token must match ${SYNC_TOKEN}`);
      const seq = after === null ? null : decodeSeq(after);
      const reply = await script(redis, 'inboxSnapshot', userKeys(userId), [userArgv(userId, now), { after: seq ?? NONE, token }]);
      const removedUpTo = String(reply[1]);
      return {
        unreadCount: Number(reply[0]),
        items: seq === null ? [] : decodeItems(userId, reply, 4),
        complete: resumeComplete(after, removedUpTo === '' ? 0 : (decodeSeq(removedUpTo) ?? Infinity), Number(reply[2]), Number(reply[3])),
        lastId: encodeSeq(Number(reply[2])),
      };
    },

    async unreadCounts(userIds, now) {
      return (await oneTrip(userIds, (on, id) => script(on, 'unreadCount', userKeys(id), userArgv(id, now)))).map(Number);
    },

    async get(userId, ids, now) {
      if (ids.length === 0) return [];
      const found = decodeItems(userId, await script(redis, 'getNotifications', userKeys(userId), userArgv(userId, now), ids));
      const byId = new Map(found.map((n) => [n.id, n]));
      return ids.map((id) => byId.get(id) ?? null);
    },

    async markRead(userId, ids, now) {
      if (ids.length === 0) return [];
      return decodeItems(userId, await script(redis, 'markRead', userKeys(userId), [userArgv(userId, now), { read: '1' }], ids));
    },

    async markUnread(userId, ids, now) {
      if (ids.length === 0) return [];
      return decodeItems(userId, await script(redis, 'markRead', userKeys(userId), [userArgv(userId, now), { read: '0' }], ids));
    },

    markAllRead: (userId, now) => script(redis, 'markAllRead', userKeys(userId), userArgv(userId, now)),

    async delete(userId, ids, now) {
      if (ids.length === 0) return 0;
      return script(redis, 'deleteNotifications', userKeys(userId), userArgv(userId, now), ids);
    },

    async sweepExpired(now, limit, leaseMs = 3000) {
      const users = await script(redis, 'claimDue', { due: global.due }, { now, limit, leaseEnd: now + leaseMs });
      await pruneUsers(users, now);
      return users.length;
    },

    async pruneExpired(now, batch = 500) {
      const { blog, bdrop, bcast, bexp, bdedup, maxexp } = global;
      await script(redis, 'pruneBroadcasts', { blog, bdrop, bcast, bexp, bdedup, maxexp }, { now });
      let visited = 0;
      // Each visit moves the user's due score past `now` or removes it, so this terminates.
      for (;;) {
        const users = await redis.zrangebyscore(global.due, '-inf', now, 'LIMIT', 0, batch);
        if (users.length === 0) return visited;
        await pruneUsers(users, now);
        visited += users.length;
      }
    },
  };
}

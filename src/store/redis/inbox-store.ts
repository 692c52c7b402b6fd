import { statsDay } from '../admin-store.js';
import { decodeItems, encodeContent, toNotification } from '../codec.js';
import { SKIP } from '../deliveries.js';
import { DELIVERY_RETENTION_MS } from '../delivery-store.js';
import { decodeSeq, encodeSeq } from '../ids.js';
import { resumeComplete, type InboxStore } from '../inbox-store.js';
import { priorityRank } from '../types.js';
import type { RedisContext } from './context.js';
import { requestGuardTtl, STATS_TTL_MS } from './keys.js';
import { NONE, script } from './scripts.js';

/** Spliced into the sync event's JSON by inboxSnapshot.lua. */
const SYNC_TOKEN = /^[0-9a-z]{1,32}$/;

/**
 * Inboxes on Redis: every change is one per-user script (src/store/redis/lua) on its user's
 * partition; a broadcast is one global script and one per partition whatever its audience,
 * settled into each inbox when its user is next touched.
 */
export function createRedisInboxStore({ redis, keys, channels, userKeys, userArgv, batch, eachPartition, one, requestId }: RedisContext): InboxStore {
  const partitionOfUser = (userId: string) => keys.partitionOf(userId).partition;
  /**
   * sendNotification's partition keys and the outbox keys it queues into, per partition, in one
   * object: script() looks each name up part by part, and fewer parts are fewer lookups.
   */
  const sendKeys = Array.from({ length: keys.partitions }, (_, n) => {
    const { seq, blog, bcast, active, mutecount, due, maxexp, epoch, outbox } = keys.partition(n);
    return {
      seq,
      blog,
      bcast,
      active,
      mutecount,
      due,
      maxexp,
      epoch,
      records: outbox.records,
      outboxDue: outbox.due,
      log: outbox.log,
      counts: outbox.counts,
      purge: outbox.purge,
      readyWebhook: outbox.ready('WEBHOOK'),
      readyTelegram: outbox.ready('TELEGRAM'),
      readyWecom: outbox.ready('WECOM'),
    };
  });
  /** Settles the users and drops what expired (pruneUser.lua), in one round trip per shard. */
  const pruneUsers = (userIds: readonly string[], now: number) =>
    batch(userIds, partitionOfUser, (on, id) => script(on, 'pruneUser', userKeys(id), userArgv(id, now)));

  return {
    async send(userIds, item, now) {
      const { rank, json } = encodeContent(item.content);
      const day = statsDay(now);
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
        requestKeepMs: requestGuardTtl(now),
      };
      // One atomic script per user, in one round trip per shard, not one per user. Each one's
      // resend guard is the request and its position (a user may be listed twice).
      const rid = requestId();
      const replies = await batch(
        userIds.map((_, i) => i),
        (i) => partitionOfUser(userIds[i]!),
        (on, i) => {
          const id = userIds[i]!;
          const [user, partition] = userKeys(id);
          const own = { stats: partition.day(day), req: partition.requests(now), requestId: `${rid}.${i}` };
          return script(on, 'sendNotification', [user, sendKeys[partition.partition]!, own], [argv, userArgv(id, now), own]);
        },
        true,
      );
      return userIds.map((userId, i) => {
        const [status, id] = replies[i] as string[];
        // 'again': a scheduled send delivered before (its mark is there): nothing changed.
        if (status === 'dedup' || status === 'again') return { userId, status: 'deduplicated' as const };
        if (status === 'muted') return { userId, status: 'muted' as const };
        // Built field by field: a spread of the content cost ~2 % of a send's CPU.
        return { userId, status: 'stored' as const, notification: toNotification(userId, id!, item.content, null) };
      });
    },

    // Two steps: the id and dedup check on the global slot, then one write per partition, all
    // partitions in one round trip per shard (docs/redis-layout.md, "Redis Cluster").
    async broadcast(item, now) {
      const content = { ...item.content, broadcast: true as const };
      const { rank, json } = encodeContent(content);
      const rid = requestId();
      const { seq, bdedup } = keys.global;
      const [id, idSeq, deduplicated] = await one<[string, string, '0' | '1']>(
        (on) =>
          script(on, 'broadcastBegin', { seq, bdedup, req: keys.global.requests(now) }, {
            now,
            dedupKey: item.dedupKey ?? '',
            dedupUntil: now + item.dedupWindowMs,
            requestId: rid,
            requestKeepMs: requestGuardTtl(now),
          }),
        true,
      );
      const day = statsDay(now);
      const argv = {
        now,
        type: content.type,
        rank,
        json,
        expiresAt: content.expiresAt,
        saveOffline: item.saveOffline ? '1' : '0',
        statsTtlMs: STATS_TTL_MS,
        id,
        seq: idSeq,
        deduplicated,
        requestId: rid,
        requestKeepMs: requestGuardTtl(now),
      };
      const parts = (await eachPartition(
        (on, p) => script(on, 'broadcastPart', [p, { stats: p.day(day), req: p.requests(now) }], [argv, { channel: channels.broadcasts(p.partition) }]),
        true,
      )) as [number, number, number][];
      const sum = (k: 0 | 1 | 2) => parts.reduce((n, r) => n + Number(r[k]), 0);
      return {
        id,
        type: content.type,
        title: content.title,
        createdAt: now,
        saveOffline: item.saveOffline,
        recipients: sum(0),
        deduplicated: sum(1),
        muted: sum(2),
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
      return (await batch(userIds, partitionOfUser, (on, id) => script(on, 'unreadCount', userKeys(id), userArgv(id, now)))).map(Number);
    },

    async get(userId, ids, now) {
      if (ids.length === 0) return [];
      const found = decodeItems(userId, await script(redis, 'getNotifications', userKeys(userId), userArgv(userId, now), ids));
      const byId = new Map(found.map((n) => [n.id, n]));
      return ids.map((id) => byId.get(id) ?? null);
    },

    async markRead(userId, ids, now) {
      if (ids.length === 0) return [];
      return decodeItems(userId, await one<string[]>((on) => script(on, 'markRead', userKeys(userId), [userArgv(userId, now), { read: '1' }], ids), true));
    },

    async markUnread(userId, ids, now) {
      if (ids.length === 0) return [];
      return decodeItems(userId, await one<string[]>((on) => script(on, 'markRead', userKeys(userId), [userArgv(userId, now), { read: '0' }], ids), true));
    },

    markAllRead: (userId, now) => one<number>((on) => script(on, 'markAllRead', userKeys(userId), userArgv(userId, now)), true),

    async delete(userId, ids, now) {
      if (ids.length === 0) return 0;
      return one<number>((on) => script(on, 'deleteNotifications', userKeys(userId), userArgv(userId, now), ids), true);
    },

    // Each partition has its own expiry index: read the earliest of each, then lease the
    // earliest `limit` of them where they are (another sweeper may take some in between).
    async sweepExpired(now, limit, leaseMs = 3000) {
      const due = (await eachPartition((on, p) => on.zrangebyscore(p.due, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit))) as string[][];
      const candidates = due.flatMap((flat, partition) => {
        const out: { partition: number; at: number }[] = [];
        for (let i = 1; i < flat.length; i += 2) out.push({ partition, at: Number(flat[i]) });
        return out;
      });
      if (candidates.length === 0) return 0;
      const take = new Map<number, number>();
      for (const c of candidates.sort((x, y) => x.at - y.at).slice(0, limit)) take.set(c.partition, (take.get(c.partition) ?? 0) + 1);
      const claimed = (await batch([...take], ([p]) => p, (on, [p, n]) => script(on, 'claimDue', { due: keys.partition(p).due }, { now, limit: n, leaseEnd: now + leaseMs }))) as string[][];
      const users = claimed.flat();
      await pruneUsers(users, now);
      return users.length;
    },

    async pruneExpired(now, batchSize = 500) {
      await eachPartition((on, p) => script(on, 'pruneBroadcasts', p, { now }));
      await redis.zremrangebyscore(keys.global.bdedup, '-inf', now);
      let visited = 0;
      // Each visit moves the user's due score past `now` or removes it, so this terminates.
      for (;;) {
        const due = (await eachPartition((on, p) => on.zrangebyscore(p.due, '-inf', now, 'LIMIT', 0, batchSize))) as string[][];
        const users = due.flat();
        if (users.length === 0) return visited;
        await pruneUsers(users, now);
        visited += users.length;
      }
    },
  };
}

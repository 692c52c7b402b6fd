import { encodeContent, toNotification } from '../codec.js';
import type { BroadcastEvent, StoreChannels, UserEvent } from '../events.js';
import { checkUserId, decodeSeq, encodeSeq } from '../ids.js';
import { resumeComplete, type InboxStore } from '../inbox-store.js';
import { StoreFullError } from '../store.js';
import { priorityRank, type Notification, type NotificationContent, type Preferences } from '../types.js';
import type { CountStats } from './admin-store.js';
import { DueIndex } from './due-index.js';
import type { MemoryOutbox } from './memory-delivery-store.js';
import type { Sequence } from './sequence.js';

/**
 * Inboxes of the embedded backend: the same algorithm as the Redis scripts (settle on touch,
 * cap, expiry, dedup) on plain maps. Single-threaded JS makes each method atomic, as a Lua
 * script is. The users live here too (every inbox operation settles one); user-store.ts
 * serves them through {@link MemoryUsers}.
 */

interface Item {
  seq: number;
  /** null for a settled broadcast: the body is shared in `bodies` */
  content: NotificationContent | null;
  expiresAt: number;
  readAt: number | null;
}

export interface UserState {
  displayName: string | null;
  active: boolean;
  createdAt: number;
  /** the sequence this user is settled up to */
  wm: number;
  /** the highest sequence ever removed from the inbox (cap, expiry, delete), like `rmid` in Redis */
  rm: number;
  prefs: Preferences;
  /** insertion order is sequence order (settling always precedes an insert) */
  inbox: Map<string, Item>;
  dedup: Map<string, number>;
}

interface LogEntry {
  id: string;
  seq: number;
  type: string;
  createdAt: number;
  expiresAt: number;
  dropAt: number;
}

/** What the embedded backend holds at most, so that clients can't run it out of memory (docs/guarantees.md). */
export const MEMORY_LIMITS = { maxUsers: 100_000, maxNotifications: 1_000_000 } as const;

export interface MemoryStoreOptions {
  cap: number;
  /** users it creates at most; a send, token or upsert that would create one more is refused (StoreFullError). @default 100000 */
  maxUsers?: number;
  /** notifications (sends) held at most over all inboxes; a send beyond is refused (StoreFullError). @default 1000000 */
  maxNotifications?: number;
  /** where events go (an in-process pubsub); they are published synchronously, in commit order */
  publish?: (channel: string, event: UserEvent | BroadcastEvent) => void;
  /** where each event goes; absent: nothing is published */
  channels?: StoreChannels;
  /** where stored notifications queue their deliveries beyond the app */
  outbox?: MemoryOutbox;
}

/** What the users' part (user-store.ts) works on: the inboxes' users and their per-user step. */
export interface MemoryUsers {
  users: ReadonlyMap<string, UserState>;
  /** runs `fn` as one per-user operation: settle first, then keep the expiry index and publish the count */
  op<R>(userId: string, now: number, create: boolean, fn: (user: UserState | null) => R): R;
  ensure(userId: string, now: number): { user: UserState; created: boolean };
  /** publishes the user's activation and muted types (live broadcast filters follow them) */
  publishUserState(userId: string, user: UserState): void;
  bumpMuteCount(type: string, delta: number): void;
  activeCount(): number;
}

interface MemoryInboxOptions extends MemoryStoreOptions {
  sequence: Sequence;
  count: CountStats;
}

export function createMemoryInboxStore({
  cap,
  publish,
  channels,
  outbox,
  maxUsers = MEMORY_LIMITS.maxUsers,
  maxNotifications = MEMORY_LIMITS.maxNotifications,
  sequence,
  count,
}: MemoryInboxOptions): { store: InboxStore; users: MemoryUsers } {
  /** items in all inboxes */
  let held = 0;
  const full = (what: string, limit: number) => new StoreFullError(what, limit);
  let maxExp = 0;
  const log: LogEntry[] = [];
  const bodies = new Map<string, NotificationContent>();
  const broadcastDedup = new Map<string, number>();
  const users = new Map<string, UserState>();
  const muteCount = new Map<string, number>();
  /** users by next expiry (item or dedup mark), like P{p:N}:due: what sweepExpired visits */
  const due = new DueIndex();
  /** what the running op changed, published with its count (user-common.lua's CHANGED_*) */
  let changes: { read: string[]; unread: string[]; removed: string[] } | null = null;
  const dropItem = (user: UserState, id: string, it: Item) => {
    user.inbox.delete(id);
    held--;
    if (it.seq > user.rm) user.rm = it.seq;
    changes?.removed.push(id);
  };
  const removeExpired = (user: UserState, t: number) => {
    for (const [id, it] of user.inbox) if (it.expiresAt <= t) dropItem(user, id, it);
  };
  const trim = (user: UserState) => {
    for (const [id, it] of user.inbox) {
      if (user.inbox.size <= cap) break;
      dropItem(user, id, it);
    }
  };
  const updateDue = (userId: string, user: UserState) => {
    let next = Infinity;
    for (const it of user.inbox.values()) if (it.expiresAt < next) next = it.expiresAt;
    for (const until of user.dedup.values()) if (until < next) next = until;
    due.set(userId, next === Infinity ? null : next);
  };
  const bumpMuteCount = (type: string, delta: number) => {
    const n = (muteCount.get(type) ?? 0) + delta;
    if (n <= 0) muteCount.delete(type);
    else muteCount.set(type, n);
  };

  const emit = (channel: string | undefined, ev: UserEvent | BroadcastEvent) => {
    if (publish && channel) publish(channel, ev);
  };
  const unreadOf = (user: UserState) => {
    let n = 0;
    for (const it of user.inbox.values()) if (it.readAt === null) n++;
    return n;
  };
  const valueOf = (c: NotificationContent) => {
    const { rank, json } = encodeContent(c);
    return `${c.type}\t${rank}\t${json}`;
  };
  /**
   * Every per-user operation runs through here, like user-common.lua: settle, do the work,
   * then keep the expiry index and publish the unread count if it, the read state or the
   * inbox's membership changed (finish()).
   */
  const op = <R>(userId: string, now: number, create: boolean, fn: (user: UserState | null) => R): R => {
    checkUserId(userId);
    let user = users.get(userId) ?? null;
    let created = false;
    if (!user && create) ({ user, created } = ensure(userId, now));
    const before = user ? unreadOf(user) : 0;
    const outer = changes;
    const c = (changes = { read: [], unread: [], removed: [] });
    try {
      if (user && !created) settle(user, now);
      const result = fn(user);
      if (user) {
        updateDue(userId, user);
        const after = unreadOf(user);
        if (after !== before || c.read.length > 0 || c.unread.length > 0 || c.removed.length > 0) {
          emit(channels?.user(userId), {
            kind: 'unread',
            count: after,
            ...(c.read.length > 0 && { read: c.read }),
            ...(c.unread.length > 0 && { unread: c.unread }),
            ...(c.removed.length > 0 && { removed: c.removed }),
          });
        }
      }
      return result;
    } finally {
      changes = outer;
    }
  };
  const userState = (userId: string, user: UserState) =>
    emit(channels?.user(userId), { kind: 'user', active: user.active, muted: [...user.prefs.mutedTypes] });

  // See user-common.lua settle(): the two must stay the same algorithm.
  const settle = (user: UserState, now: number) => {
    if (sequence.last > user.wm) {
      if (user.active) {
        const muted = new Set(user.prefs.mutedTypes);
        for (const e of log) {
          if (e.seq <= user.wm || muted.has(e.type)) continue;
          removeExpired(user, e.createdAt);
          user.inbox.set(e.id, { seq: e.seq, content: null, expiresAt: e.expiresAt, readAt: null });
          held++;
          trim(user);
        }
      }
      user.wm = sequence.last;
    }
    removeExpired(user, now);
    for (const [k, until] of user.dedup) if (until <= now) user.dedup.delete(k);
  };

  const ensure = (userId: string, now: number): { user: UserState; created: boolean } => {
    const existing = users.get(checkUserId(userId));
    if (existing) return { user: existing, created: false };
    if (users.size >= maxUsers) throw full('users', maxUsers);
    const user: UserState = {
      displayName: null,
      active: true,
      createdAt: now,
      wm: sequence.last,
      rm: 0,
      prefs: { mutedTypes: [], channels: [] },
      inbox: new Map(),
      dedup: new Map(),
    };
    users.set(userId, user);
    return { user, created: true };
  };
  const view = (userId: string, id: string, it: Item): Notification => toNotification(userId, id, it.content ?? bodies.get(id)!, it.readAt);
  const activeCount = () => {
    let n = 0;
    for (const user of users.values()) if (user.active) n++;
    return n;
  };
  const mark = (userId: string, ids: readonly string[], read: boolean, now: number) =>
    op(userId, now, false, (user) => {
      const out: Notification[] = [];
      for (const id of ids) {
        const it = user?.inbox.get(id);
        if (!it) continue;
        if (read && it.readAt === null) {
          it.readAt = now;
          changes?.read.push(id);
        } else if (!read && it.readAt !== null) {
          it.readAt = null;
          changes?.unread.push(id);
        }
        out.push(view(userId, id, it));
      }
      return out;
    });

  const store: InboxStore = {
    async send(userIds, item, now) {
      // Checked before anything is written, so a send is refused whole rather than in part.
      if (users.size + userIds.filter((id) => !users.has(id)).length > maxUsers) throw full('users', maxUsers);
      if (held + userIds.length > maxNotifications) throw full('notifications', maxNotifications);
      const c = item.content;
      const value = valueOf(c);
      return userIds.map((userId) =>
        op(userId, now, true, (user) => {
          // A scheduled send's per-user mark (sendNotification.lua): a redelivery changes nothing.
          const mark = item.deliveryMark;
          if (mark) {
            const until = user!.dedup.get(mark.key);
            if (until !== undefined && until > now) return { userId, status: 'deduplicated' as const };
            user!.dedup.set(mark.key, mark.until);
          }
          if (item.dedupKey) {
            const until = user!.dedup.get(item.dedupKey);
            if (until !== undefined && until > now) {
              count(now, 'deduplicated', 1);
              return { userId, status: 'deduplicated' as const };
            }
            user!.dedup.set(item.dedupKey, now + item.dedupWindowMs);
          }
          if (user!.prefs.mutedTypes.includes(c.type)) return { userId, status: 'muted' as const };
          const seq = sequence.next();
          user!.wm = seq;
          const id = encodeSeq(seq);
          const it: Item = { seq, content: c, expiresAt: c.expiresAt, readAt: null };
          user!.inbox.set(id, it);
          held++;
          trim(user!);
          maxExp = Math.max(maxExp, c.expiresAt);
          emit(channels?.user(userId), { kind: 'notification', id, v: value });
          if (item.channels?.length) {
            outbox?.queue({ userId, prefs: user!.prefs, notificationId: id, type: c.type, content: value, channels: item.channels, escalateAfterMs: item.escalateAfterMs ?? 0 }, now);
          }
          count(now, 'sent', 1, c.type);
          return { userId, status: 'stored' as const, notification: view(userId, id, it) };
        }),
      );
    },

    async broadcast(item, now) {
      const c = { ...item.content, broadcast: true as const };
      const audience = activeCount();
      const seq = sequence.next();
      const id = encodeSeq(seq);
      const base = { id, type: c.type, title: c.title, createdAt: now, saveOffline: item.saveOffline };
      if (item.dedupKey) {
        for (const [k, until] of broadcastDedup) if (until <= now) broadcastDedup.delete(k);
        if (broadcastDedup.has(item.dedupKey)) {
          count(now, 'deduplicated', audience);
          return { ...base, recipients: 0, deduplicated: audience, muted: 0 };
        }
        broadcastDedup.set(item.dedupKey, now + item.dedupWindowMs);
      }
      const muted = muteCount.get(c.type) ?? 0;
      if (channels) {
        const event = { kind: 'broadcast' as const, id, v: valueOf(c), stored: item.saveOffline };
        for (let p = 0; p < channels.partitions; p++) emit(channels.broadcasts(p), event);
      }
      if (!item.saveOffline) return { ...base, recipients: 0, deduplicated: 0, muted };
      bodies.set(id, c);
      maxExp = Math.max(maxExp, c.expiresAt);
      log.push({ id, seq, type: c.type, createdAt: now, expiresAt: c.expiresAt, dropAt: maxExp });
      count(now, 'sent', audience - muted, c.type);
      return { ...base, recipients: audience - muted, deduplicated: 0, muted };
    },

    async list(userId, query, now) {
      return op(userId, now, false, (user) => {
        const page = { items: [] as Notification[], hasNextPage: false, hasPreviousPage: false, totalCount: 0, unreadCount: 0 };
        if (!user) return page;
        const filter = query.filter ?? {};
        const after = query.after ? decodeSeq(query.after) : null;
        const types = filter.types ? new Set(filter.types) : null;
        const minRank = filter.minPriority ? priorityRank(filter.minPriority) : null;
        for (const [id, it] of [...user.inbox].reverse()) {
          if (filter.unreadOnly && it.readAt !== null) continue;
          const c = it.content ?? bodies.get(id)!;
          if (types && !types.has(c.type)) continue;
          if (minRank !== null && priorityRank(c.priority) < minRank) continue;
          page.totalCount++;
          if (it.readAt === null) page.unreadCount++;
          if (after !== null && it.seq >= after) page.hasPreviousPage = true;
          else if (page.items.length < query.first) page.items.push(view(userId, id, it));
          else page.hasNextPage = true;
        }
        // Like the Redis script: without a content filter the badge is the whole inbox's.
        if (!types && minRank === null) page.unreadCount = unreadOf(user);
        return page;
      });
    },

    async since(userId, after, now) {
      const seqAfter = decodeSeq(after) ?? Infinity;
      return op(userId, now, false, (user) => (user ? [...user.inbox].filter(([, it]) => it.seq > seqAfter).map(([id, it]) => view(userId, id, it)) : []));
    },

    async inboxSnapshot(userId, after, token, now) {
      const snapshot = op(userId, now, false, (user) => {
        const seqAfter = after === null ? null : decodeSeq(after);
        const items = user && seqAfter !== null ? [...user.inbox].filter(([, it]) => it.seq > seqAfter).map(([id, it]) => view(userId, id, it)) : [];
        return { unreadCount: user ? unreadOf(user) : 0, items, complete: resumeComplete(after, user?.rm ?? 0, sequence.last, sequence.epoch), lastId: encodeSeq(sequence.last) };
      });
      // After op's own unread event, as inboxSnapshot.lua publishes after finish().
      emit(channels?.user(userId), { kind: 'sync', token });
      return snapshot;
    },

    async sweepExpired(now, limit) {
      let n = 0;
      for (let id; n < limit && (id = due.popDue(now)) !== undefined; n++) op(id, now, false, () => {});
      return n;
    },

    async unreadCounts(userIds, now) {
      return userIds.map((id) => op(id, now, false, (user) => (user ? unreadOf(user) : 0)));
    },

    async get(userId, ids, now) {
      return op(userId, now, false, (user) =>
        ids.map((id) => {
          const it = user?.inbox.get(id);
          return it ? view(userId, id, it) : null;
        }),
      );
    },

    async markRead(userId, ids, now) {
      return mark(userId, ids, true, now);
    },

    async markUnread(userId, ids, now) {
      return mark(userId, ids, false, now);
    },

    async markAllRead(userId, now) {
      return op(userId, now, false, (user) => {
        let n = 0;
        if (user) {
          for (const [id, it] of user.inbox) {
            if (it.readAt !== null) continue;
            it.readAt = now;
            changes?.read.push(id);
            n++;
          }
        }
        return n;
      });
    },

    async delete(userId, ids, now) {
      return op(userId, now, false, (user) => {
        let n = 0;
        if (!user) return 0;
        for (const id of new Set(ids)) {
          const it = user.inbox.get(id);
          if (it) dropItem(user, id, it), n++;
        }
        return n;
      });
    },

    async pruneExpired(now) {
      for (const [id, c] of bodies) if (c.expiresAt <= now) bodies.delete(id);
      for (let i = log.length - 1; i >= 0; i--) if (log[i]!.dropAt <= now) log.splice(i, 1);
      for (const [k, until] of broadcastDedup) if (until <= now) broadcastDedup.delete(k);
      // Like Redis: only the users whose next expiry has passed, from the expiry index.
      let visited = 0;
      for (let id; (id = due.popDue(now)) !== undefined; visited++) op(id, now, false, () => {});
      return visited;
    },
  };
  return { store, users: { users, op, ensure, publishUserState: userState, bumpMuteCount, activeCount } };
}

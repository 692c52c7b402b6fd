import { clockSeq, decodeSeq, encodeSeq, nextSeq } from '../ids.js';
import {
  priorityRank,
  type Notification,
  type NotificationContent,
  type NotificationTypePolicy,
  type Preferences,
  type Template,
  type UserRecord,
} from '../types.js';
import type { BroadcastEvent, StoreChannels, UserEvent } from '../events.js';
import { encodeContent, toNotification } from '../codec.js';
import type { MemoryOutbox } from './memory-delivery-store.js';
import { StoreFullError, resumeComplete, statsDay, type DailyStats, type JobStatus, type ScheduledSend, type Store } from '../store.js';
import { DueIndex } from './due-index.js';

/**
 * The embedded backend: the same algorithm as the Redis scripts (settle on touch, cap, expiry,
 * dedup) on plain maps, for `npm start` on a bare machine and for tests. State lives and dies
 * with the process. Single-threaded JS makes each method atomic, as a Lua script is.
 */

interface Item {
  seq: number;
  /** null for a settled broadcast: the body is shared in `bodies` */
  content: NotificationContent | null;
  expiresAt: number;
  readAt: number | null;
}

interface UserState {
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

export function createMemoryStore({ cap, publish, channels, outbox, maxUsers = MEMORY_LIMITS.maxUsers, maxNotifications = MEMORY_LIMITS.maxNotifications }: MemoryStoreOptions): Store {
  /** items in all inboxes */
  let held = 0;
  const full = (what: string, limit: number) => new StoreFullError(what, limit);
  let seq = 0;
  // Every id this store issues is above it: a restarted server's ids are above the old ones.
  const epoch = clockSeq();
  let maxExp = 0;
  const log: LogEntry[] = [];
  const bodies = new Map<string, NotificationContent>();
  const broadcastDedup = new Map<string, number>();
  const users = new Map<string, UserState>();
  const muteCount = new Map<string, number>();
  const policies = new Map<string, NotificationTypePolicy>();
  const templates = new Map<string, Template>();
  /** scheduled sends by id, with the time each is due (sendAt, or its lease end once claimed) */
  const scheduled = new Map<string, { send: ScheduledSend; dueAt: number }>();
  /** job runs: the lock (owner token, expiry) and the last run, like P{g}:job:NAME(:lock) */
  const jobs = new Map<string, JobStatus & { lastSlot: number | null; lock: { token: string; until: number } | null }>();
  const job = (name: string) => {
    let j = jobs.get(name);
    if (!j) jobs.set(name, (j = { lastRunAt: null, lastStatus: null, lastSlot: null, lock: null }));
    return j;
  };
  /** day -> counters, like P{g}:stats:DAY (the last few days are kept) */
  const stats = new Map<string, DailyStats>();
  const count = (now: number, what: 'sent' | 'deduplicated', n: number, type?: string) => {
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

  /** users by next expiry (item or dedup mark), like P{g}:due: what sweepExpired visits */
  const due = new DueIndex();
  /** what the running op changed, published with its count (user-common.lua's CHANGED_*) */
  let changes: { read: string[]; unread: string[]; removed: string[] } | null = null;
  const dropItem = (u: UserState, id: string, it: Item) => {
    u.inbox.delete(id);
    held--;
    if (it.seq > u.rm) u.rm = it.seq;
    changes?.removed.push(id);
  };
  const removeExpired = (u: UserState, t: number) => {
    for (const [id, it] of u.inbox) if (it.expiresAt <= t) dropItem(u, id, it);
  };
  const trim = (u: UserState) => {
    for (const [id, it] of u.inbox) {
      if (u.inbox.size <= cap) break;
      dropItem(u, id, it);
    }
  };
  const updateDue = (userId: string, u: UserState) => {
    let next = Infinity;
    for (const it of u.inbox.values()) if (it.expiresAt < next) next = it.expiresAt;
    for (const until of u.dedup.values()) if (until < next) next = until;
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
  const unreadOf = (u: UserState) => {
    let n = 0;
    for (const it of u.inbox.values()) if (it.readAt === null) n++;
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
  const op = <R>(userId: string, now: number, create: boolean, fn: (u: UserState | null) => R): R => {
    let u = users.get(userId) ?? null;
    let created = false;
    if (!u && create) ({ u, created } = ensure(userId, now));
    const before = u ? unreadOf(u) : 0;
    const outer = changes;
    const c = (changes = { read: [], unread: [], removed: [] });
    try {
      if (u && !created) settle(u, now);
      const result = fn(u);
      if (u) {
        updateDue(userId, u);
        const after = unreadOf(u);
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
  const userState = (userId: string, u: UserState) =>
    emit(channels?.user(userId), { kind: 'user', active: u.active, muted: [...u.prefs.mutedTypes] });

  // See user-common.lua settle(): the two must stay the same algorithm.
  const settle = (u: UserState, now: number) => {
    if (seq > u.wm) {
      if (u.active) {
        const muted = new Set(u.prefs.mutedTypes);
        for (const e of log) {
          if (e.seq <= u.wm || muted.has(e.type)) continue;
          removeExpired(u, e.createdAt);
          u.inbox.set(e.id, { seq: e.seq, content: null, expiresAt: e.expiresAt, readAt: null });
          held++;
          trim(u);
        }
      }
      u.wm = seq;
    }
    removeExpired(u, now);
    for (const [k, until] of u.dedup) if (until <= now) u.dedup.delete(k);
  };

  const ensure = (userId: string, now: number): { u: UserState; created: boolean } => {
    const existing = users.get(userId);
    if (existing) return { u: existing, created: false };
    if (users.size >= maxUsers) throw full('users', maxUsers);
    const u: UserState = {
      displayName: null,
      active: true,
      createdAt: now,
      wm: seq,
      rm: 0,
      prefs: { mutedTypes: [], channels: [] },
      inbox: new Map(),
      dedup: new Map(),
    };
    users.set(userId, u);
    return { u, created: true };
  };
  const view = (userId: string, id: string, it: Item): Notification => toNotification(userId, id, it.content ?? bodies.get(id)!, it.readAt);
  const record = (id: string, u: UserState): UserRecord => ({
    id,
    displayName: u.displayName,
    active: u.active,
    createdAt: u.createdAt,
    preferences: structuredClone(u.prefs),
  });
  const setActive = (userId: string, u: UserState, active: boolean) => {
    for (const t of u.prefs.mutedTypes) bumpMuteCount(t, active ? 1 : -1);
    u.active = active;
  };
  const activeCount = () => {
    let n = 0;
    for (const u of users.values()) if (u.active) n++;
    return n;
  };
  const mark = (userId: string, ids: readonly string[], read: boolean, now: number) =>
    op(userId, now, false, (u) => {
      const out: Notification[] = [];
      for (const id of ids) {
        const it = u?.inbox.get(id);
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

  const store: Store = {
    kind: 'memory',

    async ensureUser(userId, now) {
      ensure(userId, now);
    },

    async upsertUser(userId, patch, now) {
      return op(userId, now, true, (u) => {
        if (patch.displayName !== undefined) u!.displayName = patch.displayName;
        if (patch.active !== undefined && patch.active !== u!.active) setActive(userId, u!, patch.active);
        userState(userId, u!);
        return record(userId, u!);
      });
    },

    async getUsers(userIds) {
      return userIds.map((id) => {
        const u = users.get(id);
        return u ? record(id, u) : null;
      });
    },

    async updatePreferences(userId, patch, now) {
      return op(userId, now, true, (u) => {
        if (patch.mutedTypes) {
          const next = [...new Set(patch.mutedTypes)];
          if (u!.active) {
            for (const t of u!.prefs.mutedTypes) if (!next.includes(t)) bumpMuteCount(t, -1);
            for (const t of next) if (!u!.prefs.mutedTypes.includes(t)) bumpMuteCount(t, 1);
          }
          u!.prefs.mutedTypes = next;
        }
        if (patch.channels) u!.prefs.channels = structuredClone(patch.channels);
        userState(userId, u!);
        return record(userId, u!);
      });
    },

    async countActiveUsers() {
      return activeCount();
    },

    async send(userIds, item, now) {
      // Checked before anything is written, so a send is refused whole rather than in part.
      if (users.size + userIds.filter((id) => !users.has(id)).length > maxUsers) throw full('users', maxUsers);
      if (held + userIds.length > maxNotifications) throw full('notifications', maxNotifications);
      const c = item.content;
      const value = valueOf(c);
      return userIds.map((userId) =>
        op(userId, now, true, (u) => {
          // A scheduled send's per-user mark (sendNotification.lua): a redelivery changes nothing.
          const mark = item.deliveryMark;
          if (mark) {
            const until = u!.dedup.get(mark.key);
            if (until !== undefined && until > now) return { userId, status: 'deduplicated' as const };
            u!.dedup.set(mark.key, mark.until);
          }
          if (item.dedupKey) {
            const until = u!.dedup.get(item.dedupKey);
            if (until !== undefined && until > now) {
              count(now, 'deduplicated', 1);
              return { userId, status: 'deduplicated' as const };
            }
            u!.dedup.set(item.dedupKey, now + item.dedupWindowMs);
          }
          if (u!.prefs.mutedTypes.includes(c.type)) return { userId, status: 'muted' as const };
          seq = nextSeq(seq);
          u!.wm = seq;
          const id = encodeSeq(seq);
          const it: Item = { seq, content: c, expiresAt: c.expiresAt, readAt: null };
          u!.inbox.set(id, it);
          held++;
          trim(u!);
          maxExp = Math.max(maxExp, c.expiresAt);
          emit(channels?.user(userId), { kind: 'notification', id, v: value });
          if (item.channels?.length) {
            outbox?.queue({ userId, prefs: u!.prefs, notificationId: id, type: c.type, content: value, channels: item.channels, escalateAfterMs: item.escalateAfterMs ?? 0 }, now);
          }
          count(now, 'sent', 1, c.type);
          return { userId, status: 'stored' as const, notification: view(userId, id, it) };
        }),
      );
    },

    async broadcast(item, now) {
      const c = { ...item.content, broadcast: true as const };
      const audience = activeCount();
      seq = nextSeq(seq);
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
      emit(channels?.broadcasts, { kind: 'broadcast', id, v: valueOf(c), stored: item.saveOffline });
      if (!item.saveOffline) return { ...base, recipients: 0, deduplicated: 0, muted };
      bodies.set(id, c);
      maxExp = Math.max(maxExp, c.expiresAt);
      log.push({ id, seq, type: c.type, createdAt: now, expiresAt: c.expiresAt, dropAt: maxExp });
      count(now, 'sent', audience - muted, c.type);
      return { ...base, recipients: audience - muted, deduplicated: 0, muted };
    },

    async list(userId, q, now) {
      return op(userId, now, false, (u) => {
        const page = { items: [] as Notification[], hasNextPage: false, hasPreviousPage: false, totalCount: 0, unreadCount: 0 };
        if (!u) return page;
        const f = q.filter ?? {};
        const after = q.after ? decodeSeq(q.after) : null;
        const types = f.types ? new Set(f.types) : null;
        const minRank = f.minPriority ? priorityRank(f.minPriority) : null;
        for (const [id, it] of [...u.inbox].reverse()) {
          if (f.unreadOnly && it.readAt !== null) continue;
          const c = it.content ?? bodies.get(id)!;
          if (types && !types.has(c.type)) continue;
          if (minRank !== null && priorityRank(c.priority) < minRank) continue;
          page.totalCount++;
          if (it.readAt === null) page.unreadCount++;
          if (after !== null && it.seq >= after) page.hasPreviousPage = true;
          else if (page.items.length < q.first) page.items.push(view(userId, id, it));
          else page.hasNextPage = true;
        }
        // Like the Redis script: without a content filter the badge is the whole inbox's.
        if (!types && minRank === null) page.unreadCount = unreadOf(u);
        return page;
      });
    },

    async since(userId, after, now) {
      const seqAfter = decodeSeq(after) ?? Infinity;
      return op(userId, now, false, (u) => (u ? [...u.inbox].filter(([, it]) => it.seq > seqAfter).map(([id, it]) => view(userId, id, it)) : []));
    },

    async inboxSnapshot(userId, after, token, now) {
      const snapshot = op(userId, now, false, (u) => {
        const seqAfter = after === null ? null : decodeSeq(after);
        const items = u && seqAfter !== null ? [...u.inbox].filter(([, it]) => it.seq > seqAfter).map(([id, it]) => view(userId, id, it)) : [];
        return { unreadCount: u ? unreadOf(u) : 0, items, complete: resumeComplete(after, u?.rm ?? 0, seq, epoch), lastId: encodeSeq(seq) };
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
      return userIds.map((id) => op(id, now, false, (u) => (u ? unreadOf(u) : 0)));
    },

    async get(userId, ids, now) {
      return op(userId, now, false, (u) =>
        ids.map((id) => {
          const it = u?.inbox.get(id);
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
      return op(userId, now, false, (u) => {
        let n = 0;
        if (u) {
          for (const [id, it] of u.inbox) {
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
      return op(userId, now, false, (u) => {
        let n = 0;
        if (!u) return 0;
        for (const id of new Set(ids)) {
          const it = u.inbox.get(id);
          if (it) dropItem(u, id, it), n++;
        }
        return n;
      });
    },

    async schedule(send, _now) {
      seq = nextSeq(seq);
      const id = encodeSeq(seq);
      scheduled.set(id, { send: structuredClone(send), dueAt: send.sendAt });
      return id;
    },

    async claimScheduled(now, limit, leaseMs) {
      const due = [...scheduled].filter(([, s]) => s.dueAt <= now).sort((a, b) => a[1].dueAt - b[1].dueAt || (a[0] < b[0] ? -1 : 1));
      return due.slice(0, limit).map(([id, s]) => {
        s.dueAt = now + leaseMs;
        return { ...structuredClone(s.send), id };
      });
    },

    async completeScheduled(id) {
      scheduled.delete(id);
    },

    async nextScheduledAt() {
      let next: number | null = null;
      for (const s of scheduled.values()) if (next === null || s.dueAt < next) next = s.dueAt;
      return next;
    },

    async beginJobRun(name, run, now) {
      const j = job(name);
      if (run.slot !== null && j.lastSlot !== null && j.lastSlot >= run.slot) return 'done';
      if (j.lock && j.lock.until > now) return 'busy';
      j.lock = { token: run.token, until: now + Math.max(1, Math.round(run.ttlMs)) };
      if (run.slot !== null) j.lastSlot = run.slot;
      return 'started';
    },

    async endJobRun(name, run) {
      const j = job(name);
      j.lastRunAt = run.startedAt;
      j.lastStatus = run.status;
      if (run.token !== '' && j.lock?.token === run.token) j.lock = null;
    },

    async jobStatuses(names) {
      return names.map((n) => {
        const j = jobs.get(n);
        return { lastRunAt: j?.lastRunAt ?? null, lastStatus: j?.lastStatus ?? null };
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
      return epoch;
    },
  };
  return store;
}

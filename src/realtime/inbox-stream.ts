import { randomBytes } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { NotificationService } from '../notifications/service.js';
import type { Notification } from '../notifications/types.js';
import { decodeItem } from '../store/codec.js';
import type { InboxSnapshot } from '../store/store.js';
import type { Channels } from './channels.js';
import type { EventQueue } from './event-queue.js';
import type { BroadcastEvent, UserEvent } from './events.js';

/** One event of the `inbox` subscription (schema/inbox-stream.ts). */
export interface InboxEvent {
  notification: Notification | null;
  /** the exact unread count when the event is sent */
  unreadCount: number;
  readIds: string[] | null;
  unreadIds: string[] | null;
  removedIds: string[] | null;
  /** only on the marker that ends a replay */
  replayComplete: boolean | null;
}

/** What a stream needs from Realtime: its bus subscription and the batched broadcast touch. */
export interface InboxStreamHost {
  readonly channels: Channels;
  readonly service: NotificationService;
  open<T>(names: string[], onEvent: (ev: any) => void, opts: { endsAt?: number | null }, start: () => Promise<void>, outage?: OutageHooks): EventQueue<T>;
  touch(userId: string): void;
}

/**
 * How long a stream waits for its sync event once the snapshot answered. It left Redis before
 * the answer did, on a connection already subscribed, so it only misses when pub/sub broke;
 * then the stream goes live with what it has and says replayComplete false.
 */
export const SYNC_TIMEOUT_MS = 5000;

/**
 * How long a new notification waits for the count of its commit before it goes out with the last
 * count known. It only waits that long when the touch that settles a broadcast failed.
 */
export const HOLD_TIMEOUT_MS = 2000;

type Ev = UserEvent | BroadcastEvent;

/** How a stream hears that the bus lost its connection (events may be lost) and that it is back. */
export interface OutageHooks {
  suspend(): void;
  resume(): void;
}

/**
 * Runs a stream's catch-up read, again every 500 ms while it fails (the bus can come back before
 * the command connection does), for up to 30 s; then `giveUp`.
 */
export function catchUp(read: () => Promise<void>, alive: () => boolean, giveUp: () => void, attempt = 0): void {
  read().catch(() => {
    if (!alive()) return;
    if (attempt >= 60) return giveUp();
    setTimeout(() => {
      if (alive()) catchUp(read, alive, giveUp, attempt + 1);
    }, 500).unref();
  });
}

const missed = () =>
  new GraphQLError('This stream may have missed events while its store was away: subscribe again with `after`.', { extensions: { code: 'SERVICE_UNAVAILABLE' } });

/**
 * The inbox stream: subscribe, then take a snapshot that publishes a sync event in the same
 * atomic step (Store.inboxSnapshot). Events before the sync event are already reflected in
 * the snapshot and are dropped (except live-only broadcasts and filter changes, which no
 * snapshot holds); events after it are delivered. So the replay, the marker and the live events
 * have no gap, no duplicate, and counts that never go back.
 *
 * A new notification carries the count of the commit that stored it: the store publishes it and
 * then, from the same commit, the `unread` event with the count, so the notification waits for
 * that event. A stored broadcast is settled into each inbox by the next script to touch it (we
 * touch it, as unreadCountChanged does); the first `unread` event after it includes it.
 */
export function inboxStream(host: InboxStreamHost, userId: string, after: string | null, opts: { endsAt?: number | null } = {}): EventQueue<InboxEvent> {
  let token = randomBytes(8).toString('hex');
  let filter: { active: boolean; muted: ReadonlySet<string> } = { active: true, muted: new Set() };
  let lastCount = 0;
  /** new notifications waiting for the count of their commit */
  const held: Notification[] = [];
  let heldTimer: NodeJS.Timeout | undefined;
  /** everything until the snapshot and its sync event are both in; then null */
  let pending: Ev[] | null = [];
  let snapshot: InboxSnapshot | null = null;
  let synced = false;
  /** the newest id this stream reflects: where it catches up from after a bus outage */
  let cursor: string | null = null;
  /** the pending buffer belongs to a catch-up (after a bus outage), not to the attach */
  let catchingUp = false;

  const push = (e: Partial<InboxEvent> & { unreadCount: number }) => {
    const id = e.notification?.id;
    if (id !== undefined && (cursor === null || id > cursor)) cursor = id;
    q.push({ notification: null, readIds: null, unreadIds: null, removedIds: null, replayComplete: null, ...e });
  };
  const passes = (v: string) => filter.active && !filter.muted.has(v.slice(0, v.indexOf('\t')));
  const hold = (n: Notification) => {
    held.push(n);
    heldTimer ??= setTimeout(() => flush(lastCount), HOLD_TIMEOUT_MS).unref();
  };
  const flush = (count: number) => {
    clearTimeout(heldTimer);
    heldTimer = undefined;
    for (const n of held.splice(0)) push({ notification: n, unreadCount: count });
    lastCount = count;
  };

  const live = (ev: Ev) => {
    switch (ev.kind) {
      case 'user':
        filter = { active: ev.active, muted: new Set(ev.muted) };
        return;
      case 'notification':
        hold(decodeItem(userId, ev.id, ev.v, ''));
        return;
      case 'broadcast':
        if (!passes(ev.v)) return;
        if (!ev.stored) return push({ notification: decodeItem(userId, ev.id, ev.v, ''), unreadCount: lastCount });
        hold(decodeItem(userId, ev.id, ev.v, ''));
        host.touch(userId);
        return;
      case 'unread': {
        if (held.length > 0) flush(ev.count);
        if (ev.read || ev.unread || ev.removed || ev.count !== lastCount) {
          push({ unreadCount: ev.count, readIds: ev.read ?? null, unreadIds: ev.unread ?? null, removedIds: ev.removed ?? null });
        }
        lastCount = ev.count;
        return;
      }
      // 'sync': another stream's
    }
  };

  const goLive = (forced: boolean) => {
    const evs = pending!;
    pending = null;
    const s = snapshot!;
    lastCount = s.unreadCount;
    if (cursor === null || s.lastId > cursor) cursor = s.lastId;
    if (after === null) push({ unreadCount: s.unreadCount });
    else {
      for (const n of s.items) push({ notification: n, unreadCount: s.unreadCount });
      push({ unreadCount: s.unreadCount, replayComplete: !forced && s.complete === true });
    }
    replayPending(evs, forced);
  };

  const replayPending = (evs: Ev[], forced: boolean) => {
    let before = !forced;
    for (const ev of evs) {
      if (!before) live(ev);
      else if (ev.kind === 'sync' && ev.token === token) before = false;
      // No snapshot holds these: filter changes and live-only broadcasts.
      else if (ev.kind === 'user' || (ev.kind === 'broadcast' && !ev.stored)) live(ev);
    }
  };

  /**
   * After a bus outage: what the inbox holds newer than the cursor goes out as new notifications,
   * then the count, then live events, with the same sync-event rule as the attach (no marker:
   * the client asked for none). If the store can't prove nothing newer was removed meanwhile, or
   * its sync event never comes, the stream ends with SERVICE_UNAVAILABLE and the client resumes
   * with `after`, which says replayComplete false.
   */
  const caughtUp = (forced: boolean) => {
    const evs = pending!;
    pending = null;
    catchingUp = false;
    const s = snapshot!;
    if (forced || s.complete !== true) return q.end(missed());
    for (const n of s.items) push({ notification: n, unreadCount: s.unreadCount });
    if (s.items.length === 0 && s.unreadCount !== lastCount) push({ unreadCount: s.unreadCount });
    lastCount = s.unreadCount;
    if (s.lastId > cursor!) cursor = s.lastId;
    replayPending(evs, false);
  };

  const settle = (forced: boolean) => (catchingUp ? caughtUp(forced) : goLive(forced));

  const outage: OutageHooks = {
    suspend() {
      // Attaching (its own fallback covers a lost sync event) or already suspended.
      if (pending || q.closed) return;
      if (held.length > 0) flush(lastCount);
      pending = [];
      catchingUp = true;
      snapshot = null;
      synced = false;
    },
    resume() {
      if (!catchingUp || snapshot || q.closed) return;
      const read = async () => {
        token = randomBytes(8).toString('hex');
        const s = await host.service.inboxSnapshot(userId, cursor, token);
        if (q.closed || !catchingUp) return;
        snapshot = s;
        if (synced) return settle(false);
        setTimeout(() => {
          if (catchingUp && pending && !q.closed) settle(true);
        }, SYNC_TIMEOUT_MS).unref();
      };
      catchUp(read, () => catchingUp && !snapshot && !q.closed, () => q.end(missed()));
    },
  };

  const q = host.open<InboxEvent>(
    [host.channels.user(userId), host.channels.broadcastsOf(userId)],
    (ev: Ev) => {
      if (!pending) return live(ev);
      pending.push(ev);
      if (ev.kind === 'sync' && ev.token === token) {
        synced = true;
        if (snapshot) settle(false);
      }
    },
    opts,
    async () => {
      const [user] = await host.service.getUsers([userId]);
      if (user) filter = { active: user.active, muted: new Set(user.preferences.mutedTypes) };
      snapshot = await host.service.inboxSnapshot(userId, after, token);
      if (q.closed) return;
      if (synced) return goLive(false);
      setTimeout(() => {
        if (pending && !catchingUp && !q.closed) goLive(true);
      }, SYNC_TIMEOUT_MS).unref();
    },
    outage,
  );
  return q;
}

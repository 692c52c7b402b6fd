import type { ExternalChannel } from './deliveries.js';
import { decodeSeq } from './ids.js';
import type { AdminStore } from './admin-store.js';
import type { BroadcastRecord, Notification, NotificationContent, NotificationFilter } from './types.js';

/** Inboxes: sends, broadcasts, reads and their expiry (Store semantics: store.ts). */
export interface InboxStore {
  /** Stores one copy per user (creating unknown users), after dedup and mute checks, in that order. */
  send(userIds: readonly string[], item: NewItem, now: number): Promise<SendOutcome[]>;
  broadcast(item: NewBroadcast, now: number): Promise<BroadcastRecord>;

  list(userId: string, query: ListQuery, now: number): Promise<Page>;
  /** Everything the inbox holds newer than `after` (an id), oldest first: subscription replay. */
  since(userId: string, after: string, now: number): Promise<Notification[]>;
  /**
   * Where an inbox stream starts: settles the user, then reads the exact unread count and, with
   * `after`, what the inbox holds newer than it (oldest first), and in the same atomic step
   * publishes `{kind: 'sync', token}` on the user's channel, so a stream subscribed before the
   * call knows which events the snapshot already reflects (those before the sync event).
   * `complete` (with `after`) is true only when `after` is an id issued so far and no item
   * newer than it was ever removed from this inbox (cap, expiry, deletion): the store keeps the
   * highest removed id per user, and `after` is not older than the data set ({@link AdminStore.epoch}).
   * Malformed or unknown `after`: no items, `complete` false.
   * `token` is `[0-9a-z]{1,32}`.
   */
  inboxSnapshot(userId: string, after: string | null, token: string, now: number): Promise<InboxSnapshot>;
  /** Unread counts for several users in one round trip. */
  unreadCounts(userIds: readonly string[], now: number): Promise<number[]>;
  get(userId: string, ids: readonly string[], now: number): Promise<(Notification | null)[]>;
  markRead(userId: string, ids: readonly string[], now: number): Promise<Notification[]>;
  markUnread(userId: string, ids: readonly string[], now: number): Promise<Notification[]>;
  markAllRead(userId: string, now: number): Promise<number>;
  delete(userId: string, ids: readonly string[], now: number): Promise<number>;

  /**
   * Settles up to `limit` users whose next expiry (item or dedup mark) is at or before `now`,
   * earliest first, without scanning other users: each publishes its new count and removed ids.
   * On Redis each user is leased for `leaseMs` while being settled, so instances sweeping at
   * the same time don't settle the same user twice. Returns how many users were settled.
   */
  sweepExpired(now: number, limit: number, leaseMs?: number): Promise<number>;
  /** Drops expired items, dedup marks and broadcast bodies for everyone; returns users visited. */
  pruneExpired(now: number, batch?: number): Promise<number>;
}

export interface InboxSnapshot {
  unreadCount: number;
  /** with `after`: what the inbox holds newer than it, oldest first; else empty */
  items: Notification[];
  /** with `after`: whether `items` is everything newer than `after` the inbox ever held; else null */
  complete: boolean | null;
  /** the last id issued when the snapshot was taken: where a stream that must catch up resumes from */
  lastId: string;
}

/**
 * What `inboxSnapshot` answers for `after`, given the highest removed id, the last issued
 * sequence and the data set's epoch (a cursor from before it may have seen what was lost).
 */
export function resumeComplete(after: string | null, removedUpTo: number, lastSeq: number, epoch: number): boolean | null {
  if (after === null) return null;
  const seq = decodeSeq(after);
  return seq !== null && seq <= lastSeq && removedUpTo <= seq && seq >= epoch;
}

export interface NewItem {
  content: NotificationContent;
  /** absent: no dedup */
  dedupKey?: string;
  dedupWindowMs: number;
  /** a scheduled send's delivery only (NotificationService.deliverScheduled): the per-user mark that makes a redelivery a no-op */
  deliveryMark?: { key: string; until: number };
  /** channels beyond the app, routed and queued in the same step that stores (delivery-store.ts) */
  channels?: readonly ExternalChannel[];
  /** > 0: the deliveries wait this long and go only if the notification is still unread */
  escalateAfterMs?: number;
}

export interface NewBroadcast extends NewItem {
  saveOffline: boolean;
}

export type SendOutcome =
  | { userId: string; status: 'stored'; notification: Notification }
  | { userId: string; status: 'deduplicated' | 'muted' };

export interface ListQuery {
  first: number;
  /** a notification id (= cursor); only older items are returned */
  after?: string | null;
  filter?: NotificationFilter | null;
}

export interface Page {
  items: Notification[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  /** matching the filter, whole inbox */
  totalCount: number;
  /** unread among those matching the filter */
  unreadCount: number;
}

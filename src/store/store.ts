import type {
  BroadcastRecord,
  Notification,
  NotificationContent,
  NotificationFilter,
  NotificationTypePolicy,
  Preferences,
  Template,
  UserRecord,
} from '../notifications/types.js';

/**
 * The one persistence contract. Two implementations (Redis, memory) pass the same
 * contract suite (test/store-contract.test.ts).
 *
 * Semantics both must honour, exactly:
 * - Ids come from one backend-wide sequence (`encodeSeq`), so id order is creation order.
 * - Every per-user operation first "settles" the user: broadcasts committed since the user's
 *   watermark are materialised in id order if the user is active (skipping muted types; at each
 *   broadcast's createdAt the items expired by then are dropped, the broadcast is inserted, the
 *   inbox is trimmed to `cap`), then everything expired at `now` is dropped.
 * - `now` is always passed in (ms); stores never read the clock, so tests control time.
 * - Each inbox keeps the newest `cap` items (own and broadcasts together), a store option.
 * - Changes are published as they commit (realtime/events.ts on realtime/channels.ts names):
 *   a stored own notification, every change of a user's unread count, activation/mute changes,
 *   and each broadcast once. On Redis the scripts publish; the memory store calls `publish`.
 */
export interface Store {
  readonly kind: 'redis' | 'memory';

  /** Creates the user (active) if it does not exist. Existing users are left as they are. */
  ensureUser(userId: string, now: number): Promise<void>;
  upsertUser(userId: string, patch: { displayName?: string | null; active?: boolean }, now: number): Promise<UserRecord>;
  /** Plain reads, in key order, null where missing. One round trip for any number of ids. */
  getUsers(userIds: readonly string[]): Promise<(UserRecord | null)[]>;
  updatePreferences(userId: string, patch: Partial<Preferences>, now: number): Promise<UserRecord>;
  countActiveUsers(): Promise<number>;

  /** Stores one copy per user (creating unknown users), after dedup and mute checks, in that order. */
  send(userIds: readonly string[], item: NewItem, now: number): Promise<SendOutcome[]>;
  broadcast(item: NewBroadcast, now: number): Promise<BroadcastRecord>;

  list(userId: string, query: ListQuery, now: number): Promise<Page>;
  /** Everything the inbox holds newer than `after` (an id), oldest first: subscription replay. */
  since(userId: string, after: string, now: number): Promise<Notification[]>;
  /** Unread counts for several users in one round trip. */
  unreadCounts(userIds: readonly string[], now: number): Promise<number[]>;
  get(userId: string, ids: readonly string[], now: number): Promise<(Notification | null)[]>;
  markRead(userId: string, ids: readonly string[], now: number): Promise<Notification[]>;
  markUnread(userId: string, ids: readonly string[], now: number): Promise<Notification[]>;
  markAllRead(userId: string, now: number): Promise<number>;
  delete(userId: string, ids: readonly string[], now: number): Promise<number>;

  /** Drops expired items, dedup marks and broadcast bodies for everyone; returns users visited. */
  pruneExpired(now: number, batch?: number): Promise<number>;

  getPolicies(): Promise<NotificationTypePolicy[]>;
  setPolicy(policy: NotificationTypePolicy): Promise<void>;
  getTemplates(): Promise<Template[]>;
  upsertTemplate(template: Template): Promise<void>;

  /** true when the backend answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface NewItem {
  content: NotificationContent;
  /** absent: no dedup */
  dedupKey?: string;
  dedupWindowMs: number;
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
